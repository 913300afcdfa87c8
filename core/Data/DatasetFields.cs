namespace TreePO.Core.Data;

/// <summary>
/// Where a row's parts are: field names or dotted paths into nested objects (<c>reward_model.ground_truth</c>), and
/// how the reference answer is taken from its field (<see cref="AnswerStyle"/>). The question field holds either the
/// question text or a list of chat messages (<c>[{role, content}]</c>).
/// </summary>
public sealed record DatasetFields(string Question = "question", string Answer = "answer", string Id = "id", string Solution = "solution")
{
    public static DatasetFields Default { get; } = new();

    public AnswerStyle Style { get; init; } = AnswerStyle.AsIs;

    /// <summary>verl only: the row's data source, prefixed to its id (indices restart per source in mixed files).</summary>
    public string? Source { get; init; }

    /// <summary>The preset's fields with the user's field maps on top (null: the preset's).</summary>
    public static DatasetFields For(DatasetFormat format, string? question = null, string? answer = null, string? id = null)
    {
        var preset = format switch
        {
            DatasetFormat.Verl => new DatasetFields("prompt", "reward_model.ground_truth", "extra_info.index") { Source = "data_source" },
            DatasetFormat.Gsm8k => new DatasetFields() { Style = AnswerStyle.AfterHashes },
            DatasetFormat.Math => new DatasetFields("problem", "solution") { Style = AnswerStyle.LastBoxed },
            _ => Default,
        };
        return preset with { Question = question ?? preset.Question, Answer = answer ?? preset.Answer, Id = id ?? preset.Id };
    }

    /// <summary>`--data-format`'s value (case-insensitive; null: jsonl); anything else is refused by name.</summary>
    public static DatasetFormat ParseFormat(string? value, string option = "--data-format") =>
        value is null ? DatasetFormat.Jsonl
        : Enum.TryParse<DatasetFormat>(value, ignoreCase: true, out var f) && Enum.IsDefined(f) && !int.TryParse(value, out _) ? f
        : throw new ArgumentException($"{option} must be one of {string.Join(", ", Enum.GetNames<DatasetFormat>().Select(n => n.ToLowerInvariant()))}, got '{value}'");
}
