using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;

namespace TreePO.Engine.Training;

/// <summary>
/// The per-step record of a run: one JSON object per line in metrics.jsonl and the same scalars as TensorBoard event
/// files (events.out.tfevents.*, which TorchSharp writes through on every call) under tensorboard/, both in the run
/// folder. Opening an existing folder appends; a resumed run opens it with <see cref="Resume"/>, which drops the steps
/// it will redo from both records.
/// </summary>
public sealed class RunLog
{
    readonly string metricsPath;
    readonly TorchSharp.Modules.SummaryWriter tensorboard;

    public RunLog(string runDir)
    {
        Directory.CreateDirectory(runDir);
        metricsPath = Path.Combine(runDir, "metrics.jsonl");
        tensorboard = torch.utils.tensorboard.SummaryWriter(Path.Combine(runDir, "tensorboard"));
    }

    public string MetricsPath => metricsPath;

    /// <summary>
    /// Opens the folder of a run that resumes after <paramref name="step"/>: metrics.jsonl loses the lines of later
    /// steps, and since TensorBoard event files only append, the old ones move to tensorboard/superseded-TIME/ and the
    /// kept steps are written again from metrics.jsonl into a fresh one (so no step shows twice).
    /// </summary>
    public static RunLog Resume(string runDir, int step)
    {
        string metrics = Path.Combine(runDir, "metrics.jsonl");
        TruncateAfter(metrics, step);
        string board = Path.Combine(runDir, "tensorboard");
        string[] old = Directory.Exists(board) ? Directory.GetFiles(board, "events.out.tfevents.*") : [];
        if (old.Length > 0)
        {
            string aside = Path.Combine(board, $"superseded-{DateTime.UtcNow:yyyyMMdd-HHmmss}");
            for (int i = 2; Directory.Exists(aside); i++) aside = Path.Combine(board, $"superseded-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{i}");
            Directory.CreateDirectory(aside);
            foreach (string file in old) File.Move(file, Path.Combine(aside, Path.GetFileName(file)));
        }
        var log = new RunLog(runDir);
        foreach (var row in Read(metrics))
        {
            int rowStep = row["step"]?.GetValue<int>() ?? throw new InvalidDataException($"{metrics}: a line without \"step\"");
            foreach (var (key, value) in row)
                if (key != "step" && value is JsonValue v && v.GetValueKind() == JsonValueKind.Number)
                    log.tensorboard.add_scalar(key, (float)v.GetValue<double>(), rowStep);
        }
        return log;
    }

    /// <summary>Appends one step. Numbers become TensorBoard scalars under their key; other values go only to JSON.</summary>
    public void Write(int step, IReadOnlyDictionary<string, object?> metrics)
    {
        var obj = new JsonObject { ["step"] = step };
        foreach (var (key, value) in metrics)
        {
            obj[key] = JsonSerializer.SerializeToNode(value);
            if (value is IConvertible c && value is not string && value is not bool)
                tensorboard.add_scalar(key, Convert.ToSingle(c, System.Globalization.CultureInfo.InvariantCulture), step);
        }
        File.AppendAllText(metricsPath, obj.ToJsonString() + "\n");
    }

    /// <summary>Reads metrics.jsonl back (for plots, summaries and resume).</summary>
    public static List<JsonObject> Read(string metricsPath)
    {
        var rows = new List<JsonObject>();
        if (!File.Exists(metricsPath)) return rows;
        int line = 0;
        foreach (string text in File.ReadLines(metricsPath))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            try { rows.Add(JsonNode.Parse(text)!.AsObject()); }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            {
                throw new InvalidDataException($"{metricsPath}:{line}: not a JSON object ({e.Message})", e);
            }
        }
        return rows;
    }

    /// <summary>Drops the lines of steps after <paramref name="step"/> (work lost by an interruption, redone on resume).</summary>
    public static void TruncateAfter(string metricsPath, int step)
    {
        if (!File.Exists(metricsPath)) return;
        var keep = File.ReadLines(metricsPath)
            .Where(l => !string.IsNullOrWhiteSpace(l))
            .Where(l => (JsonNode.Parse(l)?["step"]?.GetValue<int>() ?? int.MaxValue) <= step)
            .ToList();
        File.WriteAllLines(metricsPath, keep);
    }
}
