using TreePO.Core.Training;

namespace TreePO.Grains.Training;

/// <summary>
/// Everything a training run is: where it writes (<see cref="RunDir"/>: metrics.jsonl, TensorBoard, checkpoints,
/// summary.json, trees/ with <see cref="SaveTrees"/>), the model it starts from, the data, the tree sampling
/// (<see cref="TreeConfigJson"/>: the core TreeConfig in trees.jsonl JSON form, Mode "sequential" for GRPO), the
/// update, and the schedule of evaluations and checkpoints. Every random choice derives from <see cref="Seed"/>, the
/// step and the query.
/// </summary>
/// <param name="DataPath">A dataset file or folder of shards (JSON lines or Parquet); null: the built-in arithmetic task's train split.</param>
/// <param name="EvalDataPath">A held-out dataset file or folder; null: the built-in task's test split.</param>
/// <param name="TaskLevel">Difficulty of the built-in task (1..4).</param>
/// <param name="MaxExtraRounds">Extra sampling rounds the query filter may ask for per step.</param>
/// <param name="EvalEvery">Evaluate held-out every this many steps (and before the first and after the last); 0: only those two.</param>
/// <param name="CheckpointEvery">Checkpoint every this many steps (and after the last); 0: only after the last.</param>
/// <param name="Oversample">The filter's first round samples this many times <see cref="QueriesPerStep"/> queries
/// (rounded up); the queries after the one whose kept group filled the batch go back to the data stream.</param>
/// <param name="SaveTrees">Write each step's trained trees, with their advantages, to trees/step-N.jsonl in the run folder.</param>
/// <param name="DataFormat">Field preset of both datasets (jsonl, verl, gsm8k, math; null: jsonl).</param>
/// <param name="QuestionField">Field maps over the preset (dotted paths allowed); null: the preset's.</param>
[GenerateSerializer, Immutable, Alias("treepo.run-spec")]
public sealed record RunSpec(
    [property: Id(0)] string RunId,
    [property: Id(1)] string RunDir,
    [property: Id(2)] string ModelDir,
    [property: Id(3)] string? DataPath,
    [property: Id(4)] string? EvalDataPath,
    [property: Id(5)] int TaskLevel,
    [property: Id(6)] int Steps,
    [property: Id(7)] int QueriesPerStep,
    [property: Id(8)] int MaxExtraRounds,
    [property: Id(9)] string TreeConfigJson,
    [property: Id(10)] TrainerSettings Trainer,
    [property: Id(11)] int EvalEvery,
    [property: Id(12)] int EvalQueries,
    [property: Id(13)] int EvalK,
    [property: Id(14)] float EvalTemperature,
    [property: Id(15)] int EvalMaxTokens,
    [property: Id(16)] int CheckpointEvery,
    [property: Id(17)] ulong Seed,
    [property: Id(18)] bool SaveTrees = false,
    [property: Id(19)] string? DataFormat = null,
    [property: Id(20)] string? QuestionField = null,
    [property: Id(21)] string? AnswerField = null,
    [property: Id(22)] string? IdField = null,
    [property: Id(23)] double Oversample = 1.0)
{
    /// <summary>Who the run is, as its summary.json names it.</summary>
    public RunIdentity Identity => new(RunId, Trainer.Algo, Trainer.ResolvedAdvantage, Trainer.NoRoot, ModelDir, Seed);
}
