namespace TreePO.Core.Tasks;

/// <summary>The JSON field names of a dataset file (e.g. GSM8K uses "question"/"answer", MATH "problem"/"solution").</summary>
public sealed record DatasetFields(string Question = "question", string Answer = "answer", string Id = "id", string Solution = "solution")
{
    public static DatasetFields Default { get; } = new();
}
