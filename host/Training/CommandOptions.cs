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

    public static TreePOOptions ForTrain() => Load(TrainOverlay);

    public static TreePOOptions ForEval() => Load(EvalOverlay);

    /// <summary>The defaults of a command: the options tree's under <paramref name="overlay"/>, no source read (the
    /// `--help` list).</summary>
    public static TreePOOptions Defaults(IReadOnlyDictionary<string, string> overlay) => TreePOConfiguration.Bind(
        new ConfigurationBuilder().AddInMemoryCollection(Prefixed(overlay)).Build());

    static Dictionary<string, string?> Prefixed(IReadOnlyDictionary<string, string> keys) =>
        keys.ToDictionary(kv => $"{TreePOOptions.Section}:{kv.Key}", kv => (string?)kv.Value);

    /// <summary>Binds the sources over <paramref name="defaults"/> (keys below section TreePO); throws
    /// <see cref="TreePOOptionsException"/> naming every bad key.</summary>
    public static TreePOOptions Load(IReadOnlyDictionary<string, string> defaults)
    {
        var (overrides, _) = TreePOConfiguration.SplitOverrides(OptionOverrides.Captured);
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(Prefixed(defaults))
            .AddTreePOSources(overrides)
            .Build();
        return TreePOConfiguration.Bind(configuration);
    }
}
