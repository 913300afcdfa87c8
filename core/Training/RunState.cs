using System.Text.Json;
using System.Text.Json.Nodes;
using TreePO.Core.Eval;

namespace TreePO.Core.Training;

/// <summary>
/// run_state.json of a checkpoint: the step it closes, the weight version, the data cursor, the run seed (every other
/// random choice derives from it, the step and the query), the counters, and the metrics and evaluations so far.
/// Written last into the checkpoint's temporary folder, which is then renamed into place (<see cref="RunCheckpoint"/>).
/// </summary>
public sealed record RunState(int Step, int PolicyVersion, long DataCursor, ulong Seed, int SkippedPrompts, double WallSeconds,
    List<JsonObject> Metrics, List<EvalPoint> Evals)
{
    public const string FileName = "run_state.json";
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public Task SaveAsync(string dir, CancellationToken cancellationToken = default) =>
        File.WriteAllTextAsync(Path.Combine(dir, FileName), JsonSerializer.Serialize(this, Json), cancellationToken);

    public static RunState Load(string dir)
    {
        string path = Path.Combine(dir, FileName);
        try
        {
            return JsonSerializer.Deserialize<RunState>(File.ReadAllText(path), Json) ?? throw new InvalidDataException($"{path}: null");
        }
        catch (JsonException e) { throw new InvalidDataException($"{path}: {e.Message}", e); }
    }

    /// <summary>The latest checkpoint of a run folder (runs/NAME/checkpoints/step-K) that can be resumed from, or null.
    /// A folder whose run_state.json is missing or unreadable, or that lacks the model's files (torn by a crash, or
    /// damaged since), is passed over with a warning to <paramref name="warn"/>: the one before it is used.</summary>
    public static string? Latest(string runDir, Action<string>? warn = null) => LatestWithState(runDir, warn)?.Dir;

    /// <summary><see cref="Latest"/> with its state, read once.</summary>
    public static (string Dir, RunState State)? LatestWithState(string runDir, Action<string>? warn = null)
    {
        string root = Path.Combine(runDir, "checkpoints");
        if (!Directory.Exists(root)) return null;
        var candidates = Directory.GetDirectories(root, "step-*")
            .Select(d => (Dir: d, Ok: int.TryParse(Path.GetFileName(d)[5..], out int k), K: k))
            .Where(x => x.Ok).OrderByDescending(x => x.K);
        foreach (var (dir, _, _) in candidates)
        {
            string? problem = !File.Exists(Path.Combine(dir, FileName)) ? $"it has no {FileName}"
                : !File.Exists(Path.Combine(dir, "config.json")) ? "it has no config.json"
                : Directory.GetFiles(dir, "*.safetensors").Length == 0 ? "it has no weights (*.safetensors)"
                : null;
            RunState? state = null;
            if (problem is null)
            {
                try { state = Load(dir); }
                catch (Exception e) when (e is InvalidDataException or IOException) { problem = e.Message; }
            }
            if (state is not null) return (dir, state);
            warn?.Invoke($"checkpoint {dir} is incomplete or damaged ({problem}); skipping it for the one before");
        }
        return null;
    }
}
