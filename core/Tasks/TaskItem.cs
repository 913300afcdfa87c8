namespace TreePO.Core.Tasks;

/// <summary>One question of a dataset with its reference answer (and, for supervised data, a worked solution).</summary>
public sealed record TaskItem(string Id, string Question, string Answer, string? Solution = null);
