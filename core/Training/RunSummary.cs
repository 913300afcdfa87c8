using System.Text.Json;
using System.Text.Json.Nodes;
using TreePO.Core.Eval;

namespace TreePO.Core.Training;

/// <summary>runs/NAME/summary.json, written when a run finishes: held-out scores before and after, steps, wall time,
/// the final version and checkpoint, what was skipped, and the checkpoint step it was resumed from, if any.</summary>
public static class RunSummary
{
    public const string FileName = "summary.json";

    /// <param name="run">Who the run is: id, algorithm, advantage estimator, root term, model, seed.</param>
    public static void Write(string runDir, RunIdentity run, IReadOnlyList<EvalPoint> evals, int steps, double wallSeconds,
        int policyVersion, int skippedRows, int skippedPrompts, int resumedFromStep)
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
            ["run_id"] = run.RunId,
            ["algo"] = run.Algo,
            ["advantage"] = run.Advantage,
            ["no_root"] = run.NoRoot,
            ["model"] = run.ModelDir,
            ["eval_before"] = Eval(before),
            ["eval_after"] = Eval(after),
            ["steps"] = steps,
            ["wall_s"] = wallSeconds,
            ["policy_version"] = policyVersion,
            ["seed"] = run.Seed,
            ["skipped_rows"] = skippedRows,
            ["skipped_prompts"] = skippedPrompts,
            ["checkpoint"] = RunState.Latest(runDir),
            ["resumed_from_step"] = resumedFromStep >= 0 ? resumedFromStep : null,
        };
        File.WriteAllText(Path.Combine(runDir, FileName), summary.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }
}
