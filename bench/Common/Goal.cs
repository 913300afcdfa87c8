namespace TreePO.Bench.Common;

/// <summary>A goal of the issue and what this run reached.</summary>
public sealed record Goal(string Name, string Target, double Measured, bool Met);
