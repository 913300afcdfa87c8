using System.Diagnostics;
using System.Text.Json;
using TreePO.Core.Eval;
using TreePO.Core.Protocol;
using TreePO.Core.Reward;
using TreePO.Core.Tasks;
using TreePO.Core.Trees;
using TreePO.Engine.Checkpoint;
using TreePO.Engine.Model;
using TreePO.Engine.Threading;
using TreePO.Engine.Tokenizer;

namespace TreePO.Engine.Training;

/// <summary>
/// Makes the built-in base model: trains a tokenizer on the task's text, then a small Qwen2 by supervised
/// fine-tuning on worked solutions, evaluating held-out accuracy (sampled at temperature 1 through the inference
/// engine) every few steps and stopping as soon as it reaches the target. The result is a Hugging Face folder.
/// </summary>
public static class Pretraining
{
    public static async Task<PretrainResult> RunAsync(PretrainOptions o, IProgress<PretrainPoint>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var errors = o.Validate();
        if (errors.Count > 0) throw new ArgumentException(string.Join("; ", errors));
        var clock = Stopwatch.StartNew();
        var task = new ArithmeticTask(o.Seed, ArithmeticDifficulty.Level(o.Difficulty));

        // Tokenizer: the chat-formatted problems and solutions, exactly as the model will see them.
        var corpus = task.Enumerate(TaskSplit.Train).Take(o.TokenizerCorpus)
            .Select(p => ChatFormat.PromptText(p.Question, systemPrompt: null) + p.Solution + ChatFormat.ImEnd).ToList();
        var spec = ByteLevelBpeTrainer.Train(corpus, o.TokenizerMerges);
        Directory.CreateDirectory(o.OutputDir);
        ByteLevelBpeTrainer.Save(spec, o.OutputDir, modelMaxLength: o.MaxPositions);
        var tokenizer = HfTokenizer.Load(o.OutputDir);
        var chat = new ChatFormat(tokenizer, systemPrompt: null);
        int[] eos = [chat.ImEndId, tokenizer.TokenToId("<|endoftext|>") ?? chat.ImEndId];

        var config = new Qwen2Config
        {
            VocabSize = tokenizer.VocabSize, HiddenSize = o.HiddenSize, IntermediateSize = o.IntermediateSize,
            NumHiddenLayers = o.Layers, NumAttentionHeads = o.Heads, NumKeyValueHeads = o.KvHeads,
            MaxPositionEmbeddings = o.MaxPositions, RopeTheta = 10000, TieWordEmbeddings = true,
            InitializerRange = 0.02, EosTokenIds = eos.Distinct().ToArray(),
        };

        var heldOut = task.Enumerate(TaskSplit.Test).Take(o.EvalQueries)
            .Select(p => new QueryItem(p.Id, p.Question, p.Answer, chat.PromptIds(p.Question))).ToList();
        var evalSettings = new EvalSettings(o.EvalK, o.MaxResponseTokens, new SamplingParams(1.0f, 1.0f, -1));

        using var thread = new ModelThread("pretrain");
        var (model, trainer) = await thread.RunAsync(() =>
        {
            var m = Qwen2Model.Random(config, o.Seed);
            return (m, new SupervisedTrainer(m, ids => TrainerHost.NextTokenLogProbs(m, ids), o.LearningRate, o.WarmupSteps, o.MaxSteps));
        }, cancellationToken);
        long parameters = model.parameters().Sum(p => p.numel());

        // The evaluation engine holds its own copy of the weights, refreshed before each evaluation.
        await using var engine = InferenceEngine.Create(Qwen2Model.Random(config, o.Seed),
            new EngineOptions { MaxSlots = 64, KvBudgetBytes = 64L << 20, EosTokenIds = config.EosTokenIds });
        var evaluator = new Evaluator(engine, tokenizer, new HashSet<int>(config.EosTokenIds), MathReward.OneZero);

        var curve = new List<PretrainPoint>();
        long cursor = 0;
        int step = 0;
        double lastLoss = double.NaN, lastAccuracy = 0;
        bool reached = false;
        while (step < o.MaxSteps && !reached)
        {
            int chunk = Math.Min(o.EvalEvery, o.MaxSteps - step);
            var batches = new List<TrainingSample[]>();
            for (int i = 0; i < chunk; i++)
            {
                var batch = new TrainingSample[o.BatchSize];
                for (int b = 0; b < o.BatchSize; b++)
                {
                    var p = task.Generate(TaskSplit.Train, cursor++);
                    batch[b] = new TrainingSample(chat.PromptIds(p.Question), chat.ReplyIds(p.Solution), 1f);
                    // A small tokenizer (few --merges) makes long sequences: say which option to change, before training.
                    if (batch[b].Length > o.MaxPositions)
                        throw new ArgumentException($"training problem {p.Id} takes {batch[b].Length} tokens with this tokenizer " +
                            $"({tokenizer.VocabSize} ids), more than --max-positions {o.MaxPositions}: raise --max-positions or --merges");
                }
                batches.Add(batch);
            }
            lastLoss = await thread.RunAsync(() => batches.Select(trainer.Step).Average(s => s.Loss), cancellationToken);
            step += chunk;

            using (var weights = new MemoryStream())
            {
                await thread.RunAsync(() => Qwen2Checkpoint.WriteWeights(model, weights), cancellationToken);
                weights.Position = 0;
                await engine.LoadWeightsAsync(step, weights, cancellationToken);
            }
            var report = await evaluator.RunAsync(heldOut, evalSettings, SeedMix.Derive(o.Seed, "pretrain-eval"), "pretrain", step, cancellationToken);
            lastAccuracy = report.Scores.MeanAtK;
            var point = new PretrainPoint(step, lastLoss, report.Scores.MeanAtK, report.Scores.MajAtK, report.Scores.PassAtK,
                clock.Elapsed.TotalSeconds);
            curve.Add(point);
            progress?.Report(point);
            reached = lastAccuracy >= o.StopAtAccuracy;
        }

        await thread.RunAsync(() => Qwen2Checkpoint.Save(model, o.OutputDir), cancellationToken);
        var result = new PretrainResult(o.OutputDir, step, lastAccuracy, reached, tokenizer.VocabSize, parameters, curve);
        File.WriteAllText(Path.Combine(o.OutputDir, "pretrain.json"), JsonSerializer.Serialize(new { options = o, result },
            new JsonSerializerOptions { WriteIndented = true }));
        await thread.RunAsync(() => { trainer.Dispose(); model.Dispose(); });
        return result;
    }
}
