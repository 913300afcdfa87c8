using System.Text.Json;
using System.Text.Json.Nodes;

namespace TreePO.Grains.Training;

/// <summary>
/// run_state.json of a checkpoint: the step it closes, the weight version, the data cursor, the run seed (every other
/// random choice derives from it, the step and the query), the counters, and the metrics and evaluations so far.
/// Written last, so a checkpoint folder without it is incomplete and ignored on resume.
/// </summary>
public sealed record RunState(int Step, int PolicyVersion, long DataCursor, ulong Seed, int SkippedPrompts, double WallSeconds,
    List<JsonObject> Metrics, List<EvalPoint> Evals)
{
    public const string FileName = "run_state.json";
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public void Save(string dir) => File.WriteAllText(Path.Combine(dir, FileName), JsonSerializer.Serialize(this, Json));

    public static RunState Load(string dir)
    {
        string path = Path.Combine(dir, FileName);
        try
        {
            return JsonSerializer.Deserialize<RunState>(File.ReadAllText(path), Json) ?? throw new InvalidDataException($"{path}: null");
        }
        catch (JsonException e) { throw new InvalidDataException($"{path}: {e.Message}", e); }
    }

    /// <summary>The latest complete checkpoint of a run folder (runs/NAME/checkpoints/step-K with run_state.json), or null.</summary>
    public static string? Latest(string runDir)
    {
        string root = Path.Combine(runDir, "checkpoints");
        if (!Directory.Exists(root)) return null;
        return Directory.GetDirectories(root, "step-*")
            .Select(d => (Dir: d, Ok: int.TryParse(Path.GetFileName(d)[5..], out int k), K: k))
            .Where(x => x.Ok && File.Exists(Path.Combine(x.Dir, FileName)))
            .OrderByDescending(x => x.K).Select(x => x.Dir).FirstOrDefault();
    }
}
