using TreePO.Core.Tasks;

namespace TreePO.Engine.Training;

/// <summary>
/// The recipe of the built-in base model: a small Qwen2 with its own byte-level BPE tokenizer, fine-tuned on the
/// built-in arithmetic task and stopped early on purpose (at <see cref="StopAtAccuracy"/> held-out accuracy with
/// sampling at temperature 1) so that RL has room to improve it.
/// </summary>
public sealed record PretrainOptions
{
    /// <summary>Where the recipe writes the built-in model (relative to the working folder), and the deep level's.</summary>
    public const string BuiltInFolder = "models/builtin", BuiltInDeepFolder = "models/builtin-deep";

    public string OutputDir { get; init; } = BuiltInFolder;
    public ulong Seed { get; init; } = 1;
    /// <summary>Task difficulty level (1-5, see ArithmeticDifficulty).</summary>
    public int Difficulty { get; init; } = 2;
    /// <summary>Problems whose text trains the tokenizer.</summary>
    public int TokenizerCorpus { get; init; } = 4000;
    public int TokenizerMerges { get; init; } = 600;

    public int HiddenSize { get; init; } = 128;
    public int Layers { get; init; } = 4;
    public int Heads { get; init; } = 4;
    public int KvHeads { get; init; } = 2;
    public int IntermediateSize { get; init; } = 352;
    public int MaxPositions { get; init; } = 256;

    public int MaxSteps { get; init; } = 2000;
    public int BatchSize { get; init; } = 32;
    public double LearningRate { get; init; } = 3e-3;
    public int WarmupSteps { get; init; } = 50;

    public int EvalEvery { get; init; } = 25;
    public int EvalQueries { get; init; } = 128;
    public int EvalK { get; init; } = 4;
    public int MaxResponseTokens { get; init; } = 64;
    /// <summary>Stop at the first evaluation whose held-out mean@k (temperature 1) reaches this.</summary>
    public double StopAtAccuracy { get; init; } = 0.30;

    /// <summary>The recipe at <paramref name="difficulty"/>: worked solutions run 80-200 tokens, so the positions
    /// and the evaluation budget grow with them, and an evaluation costs about four times a level-2 one, so it runs
    /// half as often on half the queries; the model is the deep level's built-in one.</summary>
    public static PretrainOptions ForDifficulty(int difficulty) => ArithmeticDifficulty.IsWorked(difficulty)
        ? new()
        {
            OutputDir = BuiltInDeepFolder,
            Difficulty = difficulty,
            MaxPositions = 512,
            MaxResponseTokens = 256,
            EvalEvery = 50,
            EvalQueries = 64,
        }
        : new() { Difficulty = difficulty };

    public IReadOnlyList<string> Validate()
    {
        var e = new List<string>();
        if (string.IsNullOrWhiteSpace(OutputDir)) e.Add("--out must name a folder");
        if (Difficulty is < 1 or > ArithmeticDifficulty.MaxLevel) e.Add($"--difficulty must be 1..{ArithmeticDifficulty.MaxLevel} (got {Difficulty})");
        if (MaxResponseTokens < 8) e.Add($"--max-response-tokens must be at least 8 (got {MaxResponseTokens})");
        if (MaxResponseTokens >= MaxPositions) e.Add($"--max-response-tokens ({MaxResponseTokens}) must be below --max-positions ({MaxPositions})");
        if (TokenizerCorpus < 10) e.Add($"--tokenizer-corpus must be at least 10 (got {TokenizerCorpus})");
        if (TokenizerMerges < 0) e.Add($"--merges must not be negative (got {TokenizerMerges})");
        if (HiddenSize < 8 || Heads < 1 || HiddenSize % Heads != 0) e.Add($"--hidden ({HiddenSize}) must be a multiple of --heads ({Heads})");
        if (KvHeads < 1 || Heads % KvHeads != 0) e.Add($"--heads ({Heads}) must be a multiple of --kv-heads ({KvHeads})");
        if (Layers < 1) e.Add($"--layers must be at least 1 (got {Layers})");
        if (IntermediateSize < 1) e.Add($"--intermediate must be at least 1 (got {IntermediateSize})");
        if (MaxPositions < 32) e.Add($"--max-positions must be at least 32 (got {MaxPositions})");
        if (MaxSteps < 1) e.Add($"--steps must be at least 1 (got {MaxSteps})");
        if (BatchSize < 1) e.Add($"--batch must be at least 1 (got {BatchSize})");
        if (!(LearningRate > 0)) e.Add($"--lr must be positive (got {LearningRate})");
        if (EvalEvery < 1) e.Add($"--eval-every must be at least 1 (got {EvalEvery})");
        if (EvalQueries < 1 || EvalK < 1) e.Add("--eval-queries and --eval-k must be at least 1");
        if (StopAtAccuracy is <= 0 or > 1) e.Add($"--stop-at must be in (0, 1] (got {StopAtAccuracy})");
        return e;
    }
}
