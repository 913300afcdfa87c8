using Parquet.Schema;
using Parquet.Serialization;

namespace TreePO.Testing;

/// <summary>
/// Small Parquet datasets written with Parquet.Net, in the layouts users bring: verl's (a list-of-structs prompt of
/// chat messages, a reward_model struct, data_source, an extra_info struct) and GSM8K's (question, and an answer
/// that ends with "#### N").
/// </summary>
public static class ParquetDatasets
{
    /// <summary>One question with its answer; <paramref name="System"/>: a system turn before the user's (verl only).</summary>
    public sealed record Problem(string Question, string Answer, string? System = null);

    public static readonly ParquetSchema VerlSchema = new(
        new DataField<string>("data_source"),
        new ListField("prompt", new StructField("element", new DataField<string>("role"), new DataField<string>("content"))),
        new DataField<string>("ability"),
        new StructField("reward_model", new DataField<string>("ground_truth"), new DataField<string>("style")),
        new StructField("extra_info", new DataField<string>("split"), new DataField<long>("index")));

    public static readonly ParquetSchema Gsm8kSchema = new(new DataField<string>("question"), new DataField<string>("answer"));

    /// <summary>verl's layout; row i has extra_info.index i. <paramref name="groundTruth"/> may leave a row's answer
    /// out (null) to make a bad row.</summary>
    public static async Task WriteVerlAsync(string path, IReadOnlyList<Problem> problems, string dataSource = "arith")
    {
        var rows = problems.Select((p, i) => (IDictionary<string, object?>)new Dictionary<string, object?>
        {
            ["data_source"] = dataSource,
            ["prompt"] = (p.System is null ? [] : new[] { Message("system", p.System) }).Append(Message("user", p.Question)).ToList(),
            ["ability"] = "math",
            ["reward_model"] = new Dictionary<string, object?> { ["ground_truth"] = p.Answer, ["style"] = "rule" },
            ["extra_info"] = new Dictionary<string, object?> { ["split"] = "train", ["index"] = (long)i },
        }).ToList();
        await using var f = File.Create(path);
        await ParquetSerializer.SerializeUntypedAsync(rows, VerlSchema, f);
    }

    /// <summary>GSM8K's layout: the answer field is a worked solution ending with "#### answer".</summary>
    public static async Task WriteGsm8kAsync(string path, IReadOnlyList<Problem> problems)
    {
        var rows = problems.Select(p => (IDictionary<string, object?>)new Dictionary<string, object?>
        {
            ["question"] = p.Question,
            ["answer"] = $"Work it out step by step.\n#### {p.Answer}",
        }).ToList();
        await using var f = File.Create(path);
        await ParquetSerializer.SerializeUntypedAsync(rows, Gsm8kSchema, f);
    }

    static Dictionary<string, object?> Message(string role, string content) => new() { ["role"] = role, ["content"] = content };
}
