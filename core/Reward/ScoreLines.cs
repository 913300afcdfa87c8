using System.Text.Json;
using System.Text.Json.Serialization;

namespace TreePO.Core.Reward;

/// <summary>
/// The line loop behind <c>treepo score</c>: each input line is <c>{"response": str, "answer": str}</c> with an
/// optional <c>"response_tokens": int</c> (the response's length, for the overlong penalty), each output
/// line <c>{"correct": bool, "extracted": str|null, "reward": float}</c>. A bad line gets an error on the error
/// writer naming its line number, produces no output line, and the run goes on. Blank lines are skipped.
/// </summary>
public static class ScoreLines
{
    public sealed record Input(
        [property: JsonPropertyName("response")] string? Response,
        [property: JsonPropertyName("answer")] string? Answer,
        [property: JsonPropertyName("response_tokens")] int? ResponseTokens = null);

    public sealed record Output(
        [property: JsonPropertyName("correct")] bool Correct,
        [property: JsonPropertyName("extracted")] string? Extracted,
        [property: JsonPropertyName("reward")] double Reward);

    /// <summary>What a run did: lines scored and lines rejected.</summary>
    public sealed record Summary(int Scored, int Errors);

    static readonly JsonSerializerOptions Json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static async Task<Summary> RunAsync(TextReader input, TextWriter output, TextWriter error, IRewardFunction reward,
        CancellationToken cancellationToken = default)
    {
        int lineNumber = 0, scored = 0, errors = 0;
        while (await input.ReadLineAsync(cancellationToken) is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            string? problem = TryParse(line, out Input? item);
            if (problem is not null)
            {
                errors++;
                await error.WriteLineAsync($"line {lineNumber}: {problem}");
                continue;
            }
            RewardResult r = reward.Score(item!.Response!, item.Answer!, item.ResponseTokens ?? -1);
            await output.WriteLineAsync(JsonSerializer.Serialize(new Output(r.Correct, r.Extracted, r.Reward), Json));
            scored++;
        }
        await output.FlushAsync(cancellationToken);
        return new Summary(scored, errors);
    }

    static string? TryParse(string line, out Input? item)
    {
        item = null;
        try
        {
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return "expected a JSON object";
            foreach (string field in new[] { "response", "answer" })
            {
                if (!doc.RootElement.TryGetProperty(field, out JsonElement v)) return $"missing field \"{field}\"";
                if (v.ValueKind != JsonValueKind.String) return $"field \"{field}\" must be a string";
            }
            int? tokens = null;
            if (doc.RootElement.TryGetProperty("response_tokens", out JsonElement t))
            {
                if (t.ValueKind != JsonValueKind.Number || !t.TryGetInt32(out int n) || n < 0)
                    return "field \"response_tokens\" must be a non-negative integer";
                tokens = n;
            }
            item = new Input(doc.RootElement.GetProperty("response").GetString(), doc.RootElement.GetProperty("answer").GetString(), tokens);
            return null;
        }
        catch (JsonException e)
        {
            return $"invalid JSON ({e.Message})";
        }
    }
}
