using System.Text.Json.Nodes;
using TreePO.Engine.Training;
using TreePO.Hosting.Reporting;

namespace TreePO.Client.Training;

/// <summary>curves.png of a run folder: reward, accuracy (training and held-out), response length and tokens/s
/// against step, from metrics.jsonl.</summary>
public static class RunReport
{
    public const string CurvesFile = "curves.png";

    public static string WriteCurves(string runDir)
    {
        var rows = RunLog.Read(Path.Combine(runDir, "metrics.jsonl"));
        Series S(string name, string key) => new(name,
            rows.Where(r => r[key] is not null).Select(r => (double)r["step"]!.GetValue<int>()).ToList(),
            rows.Where(r => r[key] is not null).Select(r => r[key]!.GetValue<double>()).ToList());
        var panels = new List<Panel>
        {
            new("Reward", "step", "mean reward", [S("train", "reward_mean")]),
            new("Accuracy", "step", "fraction correct", [S("train (sampled trees)", "accuracy"), S("held-out mean@k", "eval_mean_at_k")]),
            new("Response length", "step", "tokens", [S("mean", "response_length")]),
            new("Rollout throughput", "step", "generated tokens / s", [S("tokens/s", "tokens_per_s")]),
        };
        string path = Path.Combine(runDir, CurvesFile);
        PanelPlot.SavePng(path, panels);
        return path;
    }

    public static double? Number(JsonObject row, string key) => row[key] is JsonValue v && v.TryGetValue(out double d) ? d : null;
}
