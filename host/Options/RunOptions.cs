namespace TreePO.Hosting.Options;

/// <summary>`treepo train`'s run: its length, batch, data and held-out schedule (the flags of the same names set
/// them too). These defaults are the ones the lead tuned on the built-in model.</summary>
public sealed class RunOptions
{
    /// <summary>Presets of sampling and advantage: treepo (tree sampling, tree advantage) or grpo (sequential
    /// sampling, group advantage); Tree:Mode and Advantage:Estimator, when set, win over it.</summary>
    public string Algo { get; set; } = "treepo";
    /// <summary>tree or sequential (w independent samples sharing only the prompt, b = w); empty: the one
    /// <see cref="Algo"/> presets (treepo: tree, grpo: sequential). It sets the run's Tree:Mode.</summary>
    public string Sampling { get; set; } = "";
    public int Steps { get; set; } = 100;
    /// <summary>Queries per step after the filter.</summary>
    public int QueriesPerStep { get; set; } = 16;
    /// <summary>Built-in task difficulty, 1..4.</summary>
    public int TaskLevel { get; set; } = 2;
    /// <summary>Held-out evaluation every this many steps (and before the first, after the last); 0: only those.</summary>
    public int EvalEvery { get; set; } = 25;
    public int EvalQueries { get; set; } = 128;
    /// <summary>Samples per held-out query: the k of mean@k, maj@k, pass@k.</summary>
    public int EvalK { get; set; } = 4;
    public float EvalTemperature { get; set; } = 1.0f;
    public int EvalMaxTokens { get; set; } = 64;
    /// <summary>Checkpoint every this many steps (and after the last); 0: only after the last.</summary>
    public int CheckpointEvery { get; set; } = 25;
    public string RunsDir { get; set; } = "runs";
    /// <summary>Redis or PostgreSQL clustering: the period of a training run's recovery reminder. A run whose silo died
    /// is resumed from its latest checkpoint by another silo within about this long after the cluster declares the
    /// silo dead, with or without its client (docs/deploy.md). Under one minute, Orleans' minimum reminder period
    /// is lowered to it (Orleans then warns that frequent reminders cost storage traffic).</summary>
    public TimeSpan RecoveryPeriod { get; set; } = TimeSpan.FromMinutes(1);
}
