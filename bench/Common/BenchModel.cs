using TreePO.Core.Tasks;
using TreePO.Core.Trees;
using TreePO.Engine.Checkpoint;
using TreePO.Engine.Model;
using TreePO.Engine.Tokenizer;
using TreePO.Engine.Training;
using Spectre.Console;
using TreePO.Hosting.Models;

namespace TreePO.Bench.Common;

/// <summary>
/// The model a sampling benchmark runs: a Hugging Face folder (--model DIR, else the built-in model, found as every
/// command finds it), or, only when asked with --random-weights, random weights of the built-in
/// recipe's shape with a tokenizer trained on the task text. Random weights never learn to stop, so every path runs to
/// the budget: the benchmark says so in its header, in every table and in its JSON.
/// </summary>
public sealed record BenchModel(string Dir, string Description, bool IsStandIn, HfTokenizer Tokenizer, ChatFormat Chat,
    IReadOnlySet<int> StopIds, Qwen2Config Config)
{
    /// <summary>The words every table of a random-weights run carries.</summary>
    public const string RandomWeightsLabel = "RANDOM WEIGHTS (--random-weights): not the built-in model";

    /// <summary>The model to run; throws <see cref="ModelFolderException"/> with what to pass when there is none.</summary>
    public static BenchModel Resolve(string? modelDir, bool randomWeights, ulong seed, string randomShape = "")
    {
        if (randomShape.Length > 0)
        {
            string dir = Path.Combine(Path.GetTempPath(), $"treepo-bench-{randomShape}-{seed}");
            if (!File.Exists(Path.Combine(dir, Qwen2Checkpoint.WeightsFile))) WriteRandomShape(dir, randomShape, seed);
            // No stop token: a random model's paths all run to the budget, so both modes do the same work.
            return Open(dir, $"RANDOM WEIGHTS (--random-shape {randomShape}): its shapes over the built-in recipe's tokenizer, " +
                $"no stop token (every response d x l tokens), in {dir}", standIn: true, stops: false);
        }
        if (randomWeights)
        {
            if (!string.IsNullOrEmpty(modelDir))
                throw new ModelFolderException("--random-weights and --model name two different models: give one");
            string dir = Path.Combine(Path.GetTempPath(), $"treepo-bench-standin-{seed}");
            if (!File.Exists(Path.Combine(dir, Qwen2Checkpoint.WeightsFile))) WriteStandIn(dir, seed);
            return Open(dir, $"{RandomWeightsLabel}; the built-in shape, BPE tokenizer trained on the task text, in {dir}", standIn: true);
        }
        string resolved = ModelFolder.Resolve(string.IsNullOrEmpty(modelDir) ? null : modelDir);
        return Open(resolved, string.IsNullOrEmpty(modelDir) ? $"built-in model ({resolved})" : resolved, standIn: false);
    }

    /// <summary>A table, titled <see cref="RandomWeightsLabel"/> when the model is random weights.</summary>
    public Table Table(params string[] columns)
    {
        var table = new Table().AddColumns(columns);
        if (IsStandIn) table.Title($"[red]{RandomWeightsLabel}[/]");
        return table;
    }

    static BenchModel Open(string dir, string description, bool standIn, bool stops = true)
    {
        var tokenizer = HfTokenizer.Load(dir);
        var chat = new ChatFormat(tokenizer, systemPrompt: null);
        var config = Qwen2Config.Load(Path.Combine(dir, Qwen2Checkpoint.ConfigFile));
        var stop = new HashSet<int>();
        if (stops)
        {
            stop.UnionWith(chat.StopIds);
            stop.UnionWith(Qwen2Checkpoint.ReadEosTokenIds(dir, config));
        }
        return new BenchModel(Path.GetFullPath(dir), description, standIn, tokenizer, chat, stop, config);
    }

    /// <summary>The shapes <c>--random-shape</c> knows.</summary>
    public static readonly string[] RandomShapes = ["qwen2.5-0.5b"];

    /// <summary>Qwen2.5-0.5B's shapes (its vocabulary the tokenizer's), random weights, the pretraining recipe's tokenizer:
    /// a model large enough to fill a GPU, for measuring throughput only.</summary>
    static void WriteRandomShape(string dir, string shape, ulong seed)
    {
        var o = new PretrainOptions();
        WriteTokenizer(dir, o);
        var tokenizer = HfTokenizer.Load(dir);
        var config = shape switch
        {
            "qwen2.5-0.5b" => Qwen2Config.Qwen25_0_5B with { VocabSize = tokenizer.VocabSize, EosTokenIds = [], BosTokenId = null },
            _ => throw new ArgumentException($"--random-shape: '{shape}' is not one of {string.Join(", ", RandomShapes)}"),
        };
        Qwen2Checkpoint.WriteRandom(dir, config, seed);
    }

    static void WriteTokenizer(string dir, PretrainOptions o)
    {
        var task = new ArithmeticTask(o.Seed, ArithmeticDifficulty.Level(o.Difficulty));
        var corpus = task.Enumerate(TaskSplit.Train).Take(o.TokenizerCorpus)
            .Select(p => ChatFormat.PromptText(p.Question, systemPrompt: null) + p.Solution + ChatFormat.ImEnd).ToList();
        Directory.CreateDirectory(dir);
        ByteLevelBpeTrainer.Save(ByteLevelBpeTrainer.Train(corpus, o.TokenizerMerges), dir, modelMaxLength: o.MaxPositions);
    }

    /// <summary>The pretraining recipe's tokenizer and shape (<see cref="PretrainOptions"/>), with random weights.</summary>
    static void WriteStandIn(string dir, ulong seed)
    {
        var o = new PretrainOptions();
        WriteTokenizer(dir, o);
        var tokenizer = HfTokenizer.Load(dir);
        var chat = new ChatFormat(tokenizer, systemPrompt: null);
        var config = new Qwen2Config
        {
            VocabSize = tokenizer.VocabSize, HiddenSize = o.HiddenSize, IntermediateSize = o.IntermediateSize,
            NumHiddenLayers = o.Layers, NumAttentionHeads = o.Heads, NumKeyValueHeads = o.KvHeads,
            MaxPositionEmbeddings = o.MaxPositions, RopeTheta = 10000, TieWordEmbeddings = true, InitializerRange = 0.02,
            EosTokenIds = [chat.ImEndId],
        };
        Qwen2Checkpoint.WriteRandom(dir, config, seed);
    }

    /// <summary>The held-out queries of the built-in task, chat-formatted as the built-in model was trained.</summary>
    public IReadOnlyList<QueryItem> HeldOutQueries(int count, ulong taskSeed, int difficulty) =>
        new ArithmeticTask(taskSeed, ArithmeticDifficulty.Level(difficulty)).Enumerate(TaskSplit.Test).Take(count)
            .Select(p => new QueryItem(p.Id, p.Question, p.Answer, Chat.PromptIds(p.Question))).ToList();
}
