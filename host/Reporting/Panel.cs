namespace TreePO.Hosting.Reporting;

/// <summary>One panel of a figure: a title, axis labels and named series of (x, y) points.</summary>
public sealed record Panel(string Title, string XLabel, string YLabel, IReadOnlyList<Series> Series);
