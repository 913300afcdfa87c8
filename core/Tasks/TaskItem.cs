using TreePO.Core.Data;

namespace TreePO.Core.Tasks;

/// <summary>One question of a dataset with its reference answer (and, for supervised data, a worked solution).
/// <paramref name="Messages"/>: the prompt as chat messages when the dataset gives it so (system and user turns);
/// <paramref name="Question"/> is then the last user turn.</summary>
public sealed record TaskItem(string Id, string Question, string Answer, string? Solution = null, IReadOnlyList<ChatMessage>? Messages = null);
