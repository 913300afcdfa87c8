namespace TreePO.Hosting.Reporting;

/// <summary>One line of a panel: its name and points.</summary>
public sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y);
