using Microsoft.Extensions.Configuration;
using TreePO.Hosting.Options;

namespace TreePO.Hosting.Training;

/// <summary>
/// The options tree of `treepo train` and `treepo eval`, read as `treepo rollout` reads it (appsettings.json,
/// TREEPO__* variables, then --section.key=value overrides). Every default is the options tree's, except the few keys
/// of <see cref="TrainOverlay"/> / <see cref="EvalOverlay"/>, which lie underneath every source (docs/configuration.md
/// lists both, generated from here). Their own flags (--model, -w, ...) are applied by the commands on top.
/// </summary>
public static class CommandOptions
{
    /// <summary>Segments of 16 tokens (the tuned run: the built-in model's answers are about 25 tokens, so d = 4 x l = 16
    /// leaves room and forks inside an answer; rollout and the sampling benchmarks keep the tree's 32). A first fork of 4
    /// ("More Init Divergence", docs/paper.md §2.2): with b = 2 from the root a tree has 4 paths when those ~2-segment
    /// answers end, and fallback made 75 % of the trajectories, each fallback round one more round on the critical
    /// path; from 4 the tree reaches w = 8 as its answers end (no fallback, one round fewer; docs/training.md).
    /// Engines sized for a training step's 16 queries x 8 leaves and eval's 128 x 4 samples (with the silo's
    /// 64 slots, 18 % of the default run's prefill was context evicted and computed again; 256 is vLLM's
    /// max_num_seqs), and a response timeout long enough for CPU steps.</summary>
    public static readonly IReadOnlyDictionary<string, string> TrainOverlay = new Dictionary<string, string>
    {
        ["Tree:SegmentLength"] = "16",
        ["Tree:InitDivergenceMin"] = "4",
        ["Tree:InitDivergenceMax"] = "4",
        ["Engine:KvBudgetMB"] = "512",
        ["Engine:MaxSlots"] = "256",
        ["Cluster:ResponseTimeout"] = "00:10:00",
    };

    public static readonly IReadOnlyDictionary<string, string> EvalOverlay = new Dictionary<string, string>
    {
        ["Engine:KvBudgetMB"] = "512",
        ["Engine:MaxSlots"] = "256",
    };

    /// <summary>Over either overlay when the run is on the built-in task's deep level (worked solutions of 120-200
    /// tokens, <see cref="TreePO.Core.Tasks.ArithmeticDifficulty.Worked"/>) and no dataset is given: the built-in model
    /// pretrained on that level, segments of 32 tokens so that an answer spans 4 to 7 of them, a response budget
    /// (d x l, and the held-out evaluation's) of 256 tokens that no worked solution reaches, and 30 steps evaluated
    /// every 10 (a step costs about ten times a level-2 one on two cores; 30 steps raised held-out mean@4 by 27 points
    /// there, docs/training.md).</summary>
    public static readonly IReadOnlyDictionary<string, string> DeepOverlay = new Dictionary<string, string>
    {
        ["Model:Path"] = "builtin-deep",
        ["Tree:Depth"] = "8",
        ["Tree:SegmentLength"] = "32",
        ["Run:EvalMaxTokens"] = "256",
        ["Run:Steps"] = "30",
        ["Run:EvalEvery"] = "10",
    };

    /// <param name="level">The command's --level, if given (else Run:TaskLevel decides).</param>
    /// <param name="dataset">Whether the command trains on a dataset (--data) rather than the built-in task.</param>
    /// <param name="overrides">The command line's --section.key=value (default: those it captured).</param>
    public static TreePOOptions ForTrain(int? level = null, bool dataset = false, IReadOnlyList<string>? overrides = null) =>
        ForLevel(TrainOverlay, level, dataset, overrides);

    public static TreePOOptions ForEval(int? level = null, bool dataset = false, IReadOnlyList<string>? overrides = null) =>
        ForLevel(EvalOverlay, level, dataset, overrides);

    static TreePOOptions ForLevel(IReadOnlyDictionary<string, string> overlay, int? level, bool dataset, IReadOnlyList<string>? overrides)
    {
        var options = Load(overlay, overrides);
        return !dataset && TreePO.Core.Tasks.ArithmeticDifficulty.IsWorked(level ?? options.Run.TaskLevel)
            ? Load(With(overlay, DeepOverlay), overrides) : options;
    }

    /// <summary><paramref name="over"/>'s keys over <paramref name="under"/>'s.</summary>
    public static IReadOnlyDictionary<string, string> With(IReadOnlyDictionary<string, string> under, IReadOnlyDictionary<string, string> over)
    {
        var merged = new Dictionary<string, string>(under);
        foreach (var (key, value) in over) merged[key] = value;
        return merged;
    }

    /// <summary>The defaults of a command: the options tree's under <paramref name="overlay"/>, no source read (the
    /// `--help` list).</summary>
    public static TreePOOptions Defaults(IReadOnlyDictionary<string, string> overlay) => TreePOConfiguration.Bind(
        new ConfigurationBuilder().AddInMemoryCollection(Prefixed(overlay)).Build());

    static Dictionary<string, string?> Prefixed(IReadOnlyDictionary<string, string> keys) =>
        keys.ToDictionary(kv => $"{TreePOOptions.Section}:{kv.Key}", kv => (string?)kv.Value);

    /// <summary>Binds the sources over <paramref name="defaults"/> (keys below section TreePO); throws
    /// <see cref="TreePOOptionsException"/> naming every bad key.</summary>
    public static TreePOOptions Load(IReadOnlyDictionary<string, string> defaults, IReadOnlyList<string>? commandLine = null)
    {
        var (overrides, _) = TreePOConfiguration.SplitOverrides(commandLine ?? OptionOverrides.Captured);
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(Prefixed(defaults))
            .AddTreePOSources(overrides)
            .Build();
        return TreePOConfiguration.Bind(configuration);
    }
}
