namespace TreePO.Bench.Common;

/// <summary>One step of a training run as the benchmark counts it, cumulative from the start of the run.</summary>
/// <param name="TrainWallSeconds">The run grain's wall clock less every held-out evaluation so far: rollouts,
/// training, weight sync, logging and checkpoints, i.e. what the run costs without the measuring.</param>
/// <param name="ComputedTokens">Forward-pass tokens of the rollouts so far (prefill + decode, engine-reported,
/// every filter round, held-out evaluation excluded).</param>
/// <param name="MeanAtK">Held-out mean@k when this step was evaluated, else null.</param>
public sealed record CurvePoint(int Step, double TrainWallSeconds, double WallSeconds, long ComputedTokens, long PrefillTokens,
    long DecodeTokens, long GeneratedTokens, long TrainTokens, double RolloutSeconds, double TrainSeconds, double SyncSeconds,
    double EvalSeconds, double? MeanAtK, double? MajAtK, double? PassAtK);
