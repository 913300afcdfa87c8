using TreePO.Core.Tasks;
using TreePO.Core.Trees;
using TreePO.Engine.Checkpoint;
using TreePO.Engine.Model;
using TreePO.Engine.Tokenizer;
using TreePO.Engine.Training;

namespace TreePO.Bench.Common;

/// <summary>
/// The model a sampling benchmark runs: a Hugging Face folder (the built-in model by default), or, when that folder
/// does not exist yet, random weights of the built-in recipe's shape with a tokenizer trained on the task text. The
/// stand-in never learns to stop, so every path runs to the budget: the output says which one was used.
/// </summary>
public sealed record BenchModel(string Dir, string Description, bool IsStandIn, HfTokenizer Tokenizer, ChatFormat Chat,
    IReadOnlySet<int> StopIds, Qwen2Config Config)
{
    public const string BuiltinDir = "models/builtin";

    public static BenchModel Resolve(string? modelDir, ulong seed)
    {
        if (!string.IsNullOrEmpty(modelDir))
        {
            if (!File.Exists(Path.Combine(modelDir, Qwen2Checkpoint.ConfigFile)))
                throw new ArgumentException($"--model {modelDir}: no {Qwen2Checkpoint.ConfigFile} there");
            return Open(modelDir, $"{modelDir}", standIn: false);
        }
        string builtin = Path.Combine(RepoRoot(), BuiltinDir);
        if (File.Exists(Path.Combine(builtin, Qwen2Checkpoint.ConfigFile)))
            return Open(builtin, $"built-in model ({BuiltinDir})", standIn: false);

        string dir = Path.Combine(Path.GetTempPath(), $"treepo-bench-standin-{seed}");
        if (!File.Exists(Path.Combine(dir, Qwen2Checkpoint.WeightsFile))) WriteStandIn(dir, seed);
        return Open(dir, $"STAND-IN: random weights of the built-in shape, BPE tokenizer trained on the task text ({BuiltinDir} not found)",
            standIn: true);
    }

    static BenchModel Open(string dir, string description, bool standIn)
    {
        var tokenizer = HfTokenizer.Load(dir);
        var chat = new ChatFormat(tokenizer, systemPrompt: null);
        var config = Qwen2Config.Load(Path.Combine(dir, Qwen2Checkpoint.ConfigFile));
        var stop = new HashSet<int>(chat.StopIds);
        stop.UnionWith(Qwen2Checkpoint.ReadEosTokenIds(dir, config));
        return new BenchModel(Path.GetFullPath(dir), description, standIn, tokenizer, chat, stop, config);
    }

    /// <summary>The pretraining recipe's tokenizer and shape (<see cref="PretrainOptions"/>), with random weights.</summary>
    static void WriteStandIn(string dir, ulong seed)
    {
        var o = new PretrainOptions();
        var task = new ArithmeticTask(o.Seed, ArithmeticDifficulty.Level(o.Difficulty));
        var corpus = task.Enumerate(TaskSplit.Train).Take(o.TokenizerCorpus)
            .Select(p => ChatFormat.PromptText(p.Question, systemPrompt: null) + p.Solution + ChatFormat.ImEnd).ToList();
        Directory.CreateDirectory(dir);
        ByteLevelBpeTrainer.Save(ByteLevelBpeTrainer.Train(corpus, o.TokenizerMerges), dir, modelMaxLength: o.MaxPositions);
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

    /// <summary>The folder holding TreePO.sln (benchmarks run from the repository or from bench/).</summary>
    public static string RepoRoot()
    {
        for (var d = new DirectoryInfo(Directory.GetCurrentDirectory()); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "TreePO.sln"))) return d.FullName;
        return Directory.GetCurrentDirectory();
    }
}
