using TreePO.Core.Reward;
using TreePO.Core.Protocol;
using TreePO.Core.Trees;
using TreePO.Engine.Tokenizer;
using TreePO.Grains.Routing;

namespace TreePO.Hosting.Options;

/// <summary>
/// The one options tree of a TreePO process (silo, client, bench), section "TreePO". Bound from appsettings.json,
/// environment variables (TREEPO__ENGINE__DEVICES=2) and --key=value overrides (--engine.devices=2) by
/// <see cref="TreePOConfiguration"/>; every key is documented in docs/configuration.md.
/// </summary>
public sealed class TreePOOptions
{
    public const string Section = "TreePO";

    public ModelOptions Model { get; set; } = new();
    public EngineHostOptions Engine { get; set; } = new();
    public SamplingOptions Sampling { get; set; } = new();
    public TreeOptions Tree { get; set; } = new();
    public PromptOptions Prompt { get; set; } = new();
    public RoutingOptions Routing { get; set; } = new();
    public ClusterOptions Cluster { get; set; } = new();
    public TrainingOptions Training { get; set; } = new();
    public PolicyUpdateOptions Trainer { get; set; } = new();
    public AdvantageSectionOptions Advantage { get; set; } = new();
    public FilterOptions Filter { get; set; } = new();
    public RewardOptions Reward { get; set; } = new();
    public RunOptions Run { get; set; } = new();
    public TelemetryOptions Telemetry { get; set; } = new();

    /// <summary>The run seed every random choice derives from.</summary>
    public ulong Seed { get; set; } = 1;

    /// <summary>Range and consistency errors, each naming its key.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        void Check(bool ok, string key, string why) { if (!ok) errors.Add($"{Section}:{key}: {why}"); }

        if (Engines.EngineDevices.Check(Engine.Devices, Engine.Device) is { } devices) Check(false, "Engine:Devices", devices);
        Check(Engine.KvBudgetMB > 0, "Engine:KvBudgetMB", $"must be positive, got {Engine.KvBudgetMB}");
        Check(Engine.MaxSlots > 0, "Engine:MaxSlots", $"must be positive, got {Engine.MaxSlots}");
        Check(Engine.MaxQueuedRequests >= 0, "Engine:MaxQueuedRequests", $"must be 0 (four times Engine:MaxSlots) or more, got {Engine.MaxQueuedRequests}");
        Check(Engine.PrefillChunk > 0, "Engine:PrefillChunk", $"must be positive, got {Engine.PrefillChunk}");
        Check(Engine.Threads >= 0, "Engine:Threads", $"must be 0 (automatic) or more, got {Engine.Threads}");
        Check(Engine.MaxSequenceLength >= 0, "Engine:MaxSequenceLength", $"must be 0 (the model's, at most 4096) or more, got {Engine.MaxSequenceLength}");
        Check(Engine.Device.ToLowerInvariant() is "auto" or "cpu" or "cuda", "Engine:Device", $"'{Engine.Device}' is not one of auto, cpu, cuda");
        Check(TreePO.Engine.EngineOptions.ElementTypeOf(Engine.DType) is not null, "Engine:DType",
            $"'{Engine.DType}' is not one of {TreePO.Engine.EngineOptions.Float32Name}, {TreePO.Engine.EngineOptions.BFloat16Name}");
        errors.AddRange(Engine.Simulation.Validate().Select(e => $"{Section}:{e}"));
        Check(float.IsFinite(Sampling.Temperature) && Sampling.Temperature >= 0, "Sampling:Temperature", $"must be 0 (greedy) or more, got {Sampling.Temperature}");
        Check(Sampling.TopP > 0 && Sampling.TopP <= 1, "Sampling:TopP", $"must be in (0, 1], got {Sampling.TopP}");
        // The tree keys are checked by the core's own rules, each error renamed to its key here.
        foreach (string e in TreeConfig(check: false).Validate())
            if (!e.StartsWith("Sampling.", StringComparison.Ordinal)) errors.Add($"{Section}:Tree:{KeyOf(e)}: {e}");
        Check(Routing.SegmentTimeout > TimeSpan.Zero, "Routing:SegmentTimeout", $"must be positive, got {Routing.SegmentTimeout}");
        Check(Routing.MaxAttempts > 0, "Routing:MaxAttempts", $"must be positive, got {Routing.MaxAttempts}");
        Check(Routing.EngineWaitTimeout >= TimeSpan.Zero, "Routing:EngineWaitTimeout", $"must not be negative, got {Routing.EngineWaitTimeout}");
        Check(Routing.LoadProbeTimeout > TimeSpan.Zero, "Routing:LoadProbeTimeout", $"must be positive, got {Routing.LoadProbeTimeout}");
        Check(ClusterOptions.Clusterings.Contains(Cluster.Clustering, StringComparer.OrdinalIgnoreCase), "Cluster:Clustering",
            $"'{Cluster.Clustering}' is not supported; use one of: {string.Join(", ", ClusterOptions.Clusterings)}");
        Check(!string.IsNullOrWhiteSpace(Cluster.ClusterId), "Cluster:ClusterId", "must not be empty");
        Check(!string.IsNullOrWhiteSpace(Cluster.ServiceId), "Cluster:ServiceId", "must not be empty");
        Check(Cluster.SiloPort is > 0 and < 65536, "Cluster:SiloPort", $"must be a TCP port, got {Cluster.SiloPort}");
        Check(Cluster.GatewayPort is > 0 and < 65536, "Cluster:GatewayPort", $"must be a TCP port, got {Cluster.GatewayPort}");
        Check(Cluster.PrimarySiloPort is > 0 and < 65536, "Cluster:PrimarySiloPort", $"must be a TCP port, got {Cluster.PrimarySiloPort}");
        Check(Cluster.SiloPort != Cluster.GatewayPort, "Cluster:GatewayPort", "must differ from Cluster:SiloPort");
        Check(Cluster.ResponseTimeout > TimeSpan.Zero, "Cluster:ResponseTimeout", $"must be positive, got {Cluster.ResponseTimeout}");
        errors.AddRange(Clustering.ClusterOptionsCheck.Validate(Cluster).Select(e => $"{Section}:{e}"));
        errors.AddRange(RewardSettings().Validate($"{Section}:Reward:"));
        Check(Filter.Oversample >= 1 && double.IsFinite(Filter.Oversample), "Filter:Oversample", $"must be 1 (no oversampling) or more, got {Filter.Oversample}");
        Check(Filter.MaxExtraRounds >= 0, "Filter:MaxExtraRounds", $"must be 0 or more, got {Filter.MaxExtraRounds}");
        Check(Run.Algo.ToLowerInvariant() is "treepo" or "grpo", "Run:Algo", $"must be treepo or grpo, got '{Run.Algo}'");
        Check(Run.RecoveryPeriod >= TimeSpan.FromSeconds(1), "Run:RecoveryPeriod", $"must be at least 00:00:01, got {Run.RecoveryPeriod}");
        Check(Advantage.Estimator.Length == 0 || TreePO.Hosting.Training.TrainSpec.Estimators.Contains(Advantage.Estimator.ToLowerInvariant()),
            "Advantage:Estimator", $"must be one of {string.Join(", ", TreePO.Hosting.Training.TrainSpec.Estimators)} (or empty: Run:Algo's), got '{Advantage.Estimator}'");
        // The trainer's own rules, named by their keys here (TrainerOptions names them Trainer:KEY).
        errors.AddRange(TreePO.Grains.Training.TrainerGrain.ToOptions(Trainer.ToSettings("treepo")).Validate().Select(e => $"{Section}:{e}"));
        errors.AddRange(Telemetry.Validate(Cluster).Select(e => $"{Section}:{e}"));
        return errors;
    }

    /// <summary>The reward's settings: section Reward, measured against the tree's response budget.</summary>
    public RewardSettings RewardSettings() => Reward.ToSettings(TreeConfig(check: false).ResponseBudget);

    /// <summary>The core tree configuration these options describe (Tree plus Sampling).</summary>
    public TreeConfig TreeConfig() => TreeConfig(check: true);

    TreeConfig TreeConfig(bool check)
    {
        var t = Tree;
        var config = new TreeConfig
        {
            Width = t.Width, Depth = t.Depth, SegmentLength = t.SegmentLength, Branch = t.Branch,
            InitDivergenceMin = t.InitDivergenceMin, InitDivergenceMax = t.InitDivergenceMax, MaxResponseTokens = t.MaxResponseTokens,
            Branching = t.Branching, LogProbScore = t.LogProbScore, LogProbDirection = t.LogProbDirection,
            LogProbTemperature = t.LogProbTemperature, TemperatureSchedule = t.TemperatureSchedule,
            TemperatureMin = t.TemperatureMin, TemperatureMax = t.TemperatureMax, ScheduleTotalSteps = t.ScheduleTotalSteps,
            Fallback = t.Fallback, FallbackCandidates = t.FallbackCandidates, MaxFallbackWindow = t.MaxFallbackWindow,
            BoxedMinSegments = t.BoxedMinSegments, BoxedStop = t.BoxedStop, Repetition = t.Repetition,
            RepetitionWindow = t.RepetitionWindow, RepetitionCount = t.RepetitionCount, Mode = t.Mode,
            Sampling = new SamplingParams(Sampling.Temperature, Sampling.TopP, Sampling.TopK),
        };
        return check ? config.EnsureValid() : config;
    }

    /// <summary>The option a core TreeConfig error is about: its first word ("Width (w) must ..." -> Width).</summary>
    static string KeyOf(string error)
    {
        int end = 0;
        while (end < error.Length && char.IsLetterOrDigit(error[end])) end++;
        return error[..end];
    }
}

