using System.Text.Json;
using TreePO.Core.Trees;
using TreePO.Engine.Training;
using TreePO.Grains.Training;
using TreePO.Hosting.Options;

namespace TreePO.Hosting.Training;

/// <summary>
/// The run spec of `treepo train` (and of the benchmarks that run it) from the options tree: Run:Algo presets the
/// sampling and the advantage, Run:Sampling and Advantage:Estimator, when set, replace either one, and the spec
/// records the resolved values (run_spec.json).
/// </summary>
public static class TrainSpec
{
    public static readonly string[] Algos = ["treepo", "grpo"];
    public static readonly string[] Samplings = ["tree", "sequential"];
    public static IReadOnlyList<string> Estimators => TrajectorySamples.Estimators;

    /// <summary>The sampling a run of these options uses: Run:Sampling, else the algorithm's.</summary>
    public static string SamplingOf(TreePOOptions o) => o.Run.Sampling.Length > 0 ? o.Run.Sampling.ToLowerInvariant()
        : o.Run.Algo.Equals("grpo", StringComparison.OrdinalIgnoreCase) ? "sequential" : "tree";

    /// <summary>The advantage estimator a run of these options uses: Advantage:Estimator, else the algorithm's.</summary>
    public static string AdvantageOf(TreePOOptions o) => o.Advantage.Estimator.Length > 0 ? o.Advantage.Estimator.ToLowerInvariant()
        : o.Run.Algo.Equals("grpo", StringComparison.OrdinalIgnoreCase) ? "group" : "tree";

    /// <summary>The spec of a new run; throws <see cref="ArgumentException"/> naming the key of a bad choice.</summary>
    public static RunSpec Build(TreePOOptions o, string name, string runDir, string modelDir, string? dataPath, string? evalDataPath)
    {
        string algo = o.Run.Algo.ToLowerInvariant();
        if (!Algos.Contains(algo)) throw new ArgumentException($"Run:Algo (--algo) must be treepo or grpo, got '{o.Run.Algo}'");
        string sampling = SamplingOf(o);
        if (!Samplings.Contains(sampling)) throw new ArgumentException($"Run:Sampling (--sampling) must be tree or sequential, got '{o.Run.Sampling}'");
        string advantage = AdvantageOf(o);
        if (!Estimators.Contains(advantage))
            throw new ArgumentException($"Advantage:Estimator (--advantage) must be one of {string.Join(", ", Estimators)}, got '{o.Advantage.Estimator}'");
        // The estimator's own rule (the trainer applies it again), said with the key and flag.
        try { TrajectorySamples.AdvantageFor(advantage, o.Advantage.NoRoot); }
        catch (ArgumentException e) { throw new ArgumentException($"Advantage:NoRoot (--no-root): {e.Message}", e); }
        // Sequential: the same budget sampled as w independent sequences that share only the prompt.
        o.Tree.Mode = sampling == "sequential" ? SamplingMode.Sequential : SamplingMode.Tree;
        if (o.Tree.Mode == SamplingMode.Sequential) o.Tree.Branch = o.Tree.Width;
        var tree = o.TreeConfig();
        var r = o.Run;
        return new RunSpec(name, runDir, modelDir, dataPath, evalDataPath, r.TaskLevel, r.Steps, r.QueriesPerStep,
            o.Filter.MaxExtraRounds, JsonSerializer.Serialize(tree, TreeJson.Options),
            o.Trainer.ToSettings(algo, advantage, o.Advantage.NoRoot),
            r.EvalEvery, r.EvalQueries, r.EvalK, r.EvalTemperature, r.EvalMaxTokens, r.CheckpointEvery, o.Seed)
        {
            Oversample = o.Filter.Oversample,
        };
    }
}
