using System.Globalization;
using Microsoft.Extensions.Configuration;
using TreePO.Hosting.Options;

namespace TreePO.Hosting.Training;

/// <summary>
/// The options tree of `treepo train` and `treepo eval`, read as `treepo rollout` reads it (appsettings.json,
/// TREEPO__* variables, then --section.key=value overrides) over the <see cref="TrainDefaults"/> of these commands,
/// which lie underneath every source. Their own flags (--model, -w, ...) are applied by the commands on top.
/// </summary>
public static class CommandOptions
{
    /// <summary>Training's defaults where they differ from the options tree's: the tuned tree, KV budget, prompt, and
    /// a response timeout long enough for CPU steps.</summary>
    public static TreePOOptions ForTrain() => Load(new()
    {
        ["Tree:Width"] = Invariant(TrainDefaults.Width),
        ["Tree:Depth"] = Invariant(TrainDefaults.Depth),
        ["Tree:SegmentLength"] = Invariant(TrainDefaults.SegmentLength),
        ["Tree:Branch"] = Invariant(TrainDefaults.Branch),
        ["Sampling:Temperature"] = Invariant(TrainDefaults.Temperature),
        ["Seed"] = Invariant(TrainDefaults.Seed),
        ["Engine:KvBudgetMB"] = Invariant(TrainDefaults.KvBudgetMB),
        ["Engine:MaxSlots"] = Invariant(TrainDefaults.MaxSlots),
        ["Prompt:SystemPrompt"] = TrainDefaults.SystemPrompt,
        ["Cluster:ResponseTimeout"] = "00:10:00",
    });

    public static TreePOOptions ForEval() => Load(new()
    {
        ["Engine:KvBudgetMB"] = Invariant(TrainDefaults.KvBudgetMB),
        ["Engine:MaxSlots"] = Invariant(TrainDefaults.MaxSlots),
        ["Prompt:SystemPrompt"] = TrainDefaults.SystemPrompt,
    });

    /// <summary>Binds the sources over <paramref name="defaults"/> (keys below section TreePO); throws
    /// <see cref="TreePOOptionsException"/> naming every bad key.</summary>
    public static TreePOOptions Load(Dictionary<string, string?> defaults)
    {
        var (overrides, _) = TreePOConfiguration.SplitOverrides(OptionOverrides.Captured);
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(defaults.ToDictionary(kv => $"{TreePOOptions.Section}:{kv.Key}", kv => kv.Value))
            .AddTreePOSources(overrides)
            .Build();
        return TreePOConfiguration.Bind(configuration);
    }

    static string Invariant(IFormattable value) => value.ToString(null, CultureInfo.InvariantCulture);
}
