namespace TreePO.Bench.Common;

/// <summary>Marks the settings of a benchmark that reads the options tree, so it takes <c>--section.key=value</c>
/// overrides (<see cref="TreePO.Hosting.Options.OptionOverrides"/>); every other benchmark refuses them.</summary>
public interface ITakesOptionOverrides;
