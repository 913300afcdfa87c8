using System.Text.Json;
using System.Text.Json.Nodes;

namespace TreePO.Grains.Training;

/// <summary>runs/NAME/summary.json, written when a run finishes: held-out scores before and after, steps, wall time,
/// the final version and checkpoint, what was skipped, and the checkpoint step it was resumed from, if any.</summary>
public static class RunSummary
{
    public const string FileName = "summary.json";

    public static void Write(RunSpec spec, IReadOnlyList<EvalPoint> evals, int steps, double wallSeconds, int policyVersion,
        int skippedRows, int skippedPrompts, int resumedFromStep)
    {
        var before = evals.FirstOrDefault(e => e.Step == 0);
        var after = evals.LastOrDefault();
        JsonObject Eval(EvalPoint? e) => e is null ? new JsonObject() : new JsonObject
        {
            ["step"] = e.Step, ["mean_at_k"] = e.MeanAtK, ["maj_at_k"] = e.MajAtK, ["pass_at_k"] = e.PassAtK,
            ["queries"] = e.Queries, ["k"] = e.K,
        };
        var summary = new JsonObject
        {
            ["run_id"] = spec.RunId,
            ["algo"] = spec.Trainer.Algo,
            ["advantage"] = spec.Trainer.ResolvedAdvantage,
            ["no_root"] = spec.Trainer.NoRoot,
            ["model"] = spec.ModelDir,
            ["eval_before"] = Eval(before),
            ["eval_after"] = Eval(after),
            ["steps"] = steps,
            ["wall_s"] = wallSeconds,
            ["policy_version"] = policyVersion,
            ["seed"] = spec.Seed,
            ["skipped_rows"] = skippedRows,
            ["skipped_prompts"] = skippedPrompts,
            ["checkpoint"] = RunState.Latest(spec.RunDir),
            ["resumed_from_step"] = resumedFromStep >= 0 ? resumedFromStep : null,
        };
        File.WriteAllText(Path.Combine(spec.RunDir, FileName), summary.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }
}
