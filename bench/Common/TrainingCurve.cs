using System.Text.Json.Nodes;
using TreePO.Engine.Training;

namespace TreePO.Bench.Common;

/// <summary>A run's metrics.jsonl joined with the rollout token counts, and the time to reach a held-out accuracy.</summary>
public sealed record TrainingCurve(string Algo, IReadOnlyList<CurvePoint> Points, FilterShares Filter)
{
    public IEnumerable<CurvePoint> Evaluated => Points.Where(p => p.MeanAtK is not null);
    public CurvePoint Last => Points[^1];
    public CurvePoint FinalEval => Evaluated.Last();

    /// <summary>Held-out mean@k averaged over the evaluations after training began (the area under the curve per
    /// evaluation): less noisy than the final point alone, which moves by several points between neighbouring
    /// evaluations of one run. Null when only the start was evaluated.</summary>
    public double? CurveMean
    {
        get
        {
            var after = Evaluated.Where(p => p.Step > 0).Select(p => p.MeanAtK!.Value).ToList();
            return after.Count > 0 ? after.Average() : null;
        }
    }

    public static TrainingCurve Read(string algo, string runDir, string runId, RolloutTokenCounter counter)
    {
        string path = Path.Combine(runDir, "metrics.jsonl");
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: the run wrote no metrics");
        var rows = RunLog.Read(path);
        var points = new List<CurvePoint>();
        double evalSeconds = 0, rollout = 0, train = 0, sync = 0;
        long prefill = 0, decode = 0, generated = 0, trainTokens = 0;
        var filter = FilterShares.Zero;
        foreach (JsonObject row in rows)
        {
            int step = row["step"]!.GetValue<int>();
            var tokens = counter.Rollout(runId, step);
            (prefill, decode, generated) = (prefill + tokens.Prefill, decode + tokens.Decode, generated + tokens.Generated);
            trainTokens += (long)(Number(row, "train_tokens") ?? 0);
            filter = filter.Add(new FilterShares((long)(Number(row, "filter_generated") ?? 0), (long)(Number(row, "filter_kept") ?? 0),
                (long)(Number(row, "filter_all_correct") ?? 0), (long)(Number(row, "filter_all_wrong") ?? 0)));
            rollout += Number(row, "rollout_s") ?? 0;
            train += Number(row, "train_s") ?? 0;
            sync += Number(row, "sync_s") ?? 0;
            evalSeconds += Number(row, "eval_s") ?? 0;
            double wall = Number(row, "wall_s") ?? throw new InvalidDataException($"{path}: step {step} has no wall_s");
            points.Add(new CurvePoint(step, wall - evalSeconds, wall, prefill + decode, prefill, decode, generated, trainTokens,
                rollout, train, sync, evalSeconds, Number(row, "eval_mean_at_k"), Number(row, "eval_maj_at_k"), Number(row, "eval_pass_at_k")));
        }
        if (points.Count == 0 || !points.Any(p => p.MeanAtK is not null)) throw new InvalidDataException($"{path}: no held-out evaluation");
        return new TrainingCurve(algo, points, filter);
    }

    /// <summary>The first evaluated step whose held-out mean@k is at least <paramref name="target"/> (so the time
    /// is resolved to the evaluation cadence, never interpolated), or null if none is.</summary>
    public CurvePoint? FirstReaching(double target) => Evaluated.FirstOrDefault(p => p.MeanAtK >= target - 1e-12);

    /// <summary>The step-by-step mean of runs evaluated at the same steps (seed repetitions of one algorithm).</summary>
    public static TrainingCurve Average(string algo, IReadOnlyList<TrainingCurve> runs)
    {
        if (runs.Count == 0) throw new ArgumentException("no runs to average", nameof(runs));
        var steps = runs[0].Points.Select(p => p.Step).ToList();
        if (runs.Any(r => !r.Points.Select(p => p.Step).SequenceEqual(steps)))
            throw new ArgumentException("runs to average must log the same steps");
        var points = steps.Select((step, i) =>
        {
            var ps = runs.Select(r => r.Points[i]).ToList();
            double M(Func<CurvePoint, double> f) => ps.Average(f);
            long L(Func<CurvePoint, long> f) => (long)Math.Round(ps.Average(p => (double)f(p)));
            double? N(Func<CurvePoint, double?> f) => ps.All(p => f(p) is not null) ? ps.Average(p => f(p)!.Value) : null;
            return new CurvePoint(step, M(p => p.TrainWallSeconds), M(p => p.WallSeconds), L(p => p.ComputedTokens), L(p => p.PrefillTokens),
                L(p => p.DecodeTokens), L(p => p.GeneratedTokens), L(p => p.TrainTokens), M(p => p.RolloutSeconds), M(p => p.TrainSeconds),
                M(p => p.SyncSeconds), M(p => p.EvalSeconds), N(p => p.MeanAtK), N(p => p.MajAtK), N(p => p.PassAtK));
        }).ToList();
        return new TrainingCurve(algo, points, runs.Select(r => r.Filter).Aggregate(FilterShares.Zero, (a, b) => a.Add(b)));
    }

    static double? Number(JsonObject row, string key) => row[key] is JsonValue v && v.TryGetValue(out double d) ? d : null;
}
