namespace TreePO.Core.Eval;

/// <summary>One query's k sampled answers, as evaluation sees them.</summary>
/// <param name="Extracted">The extracted (normalised) answer of each sample; null when none was found.</param>
/// <param name="Correct">Whether each sample was judged correct.</param>
public sealed record QuerySamples(string QueryId, IReadOnlyList<string?> Extracted, IReadOnlyList<bool> Correct);
