namespace TreePO.Hosting.Training;

/// <summary>Every default of `treepo train` and `treepo eval`, in one place (the lead tunes them on the built-in
/// model: held-out mean@k +20 points within 10 minutes on 2 cores).</summary>
public static class TrainDefaults
{
    public const string RunsDir = "runs";
    public const string Algo = "treepo";
    public const int Steps = 100;
    public const int QueriesPerStep = 16;
    public const int MaxExtraRounds = 2;
    public const int Width = 8;
    public const int Depth = 4;
    public const int SegmentLength = 16;
    public const int Branch = 2;
    public const float Temperature = 1.0f;
    public const double LearningRate = 1e-4;
    public const int MiniBatches = 4;
    public const int WarmupSteps = 5;
    public const double WeightDecay = 0.1;
    public const int EvalEvery = 25;
    public const int EvalQueries = 128;
    public const int EvalK = 4;
    public const float EvalTemperature = 1.0f;
    public const int EvalMaxTokens = 64;
    public const int CheckpointEvery = 25;
    public const ulong Seed = 1;
    public const int TaskLevel = 2;
    /// <summary>Empty: no system turn (the built-in model's chat format).</summary>
    public const string SystemPrompt = "";
    public const long KvBudgetMB = 512;
    /// <summary>Sequences an engine holds at once: a step's 16 queries x w = 8 leaves (and eval's 128 x k = 4 samples)
    /// need more than the silo default of 64; with 64, 18 % of the default run's prefill was context evicted and
    /// computed again. 256 is vLLM's default max_num_seqs.</summary>
    public const int MaxSlots = 256;
}
