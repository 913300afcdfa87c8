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

        Check(Engine.Devices >= 0, "Engine:Devices", $"must be 0 or more, got {Engine.Devices}");
        Check(Engine.KvBudgetMB > 0, "Engine:KvBudgetMB", $"must be positive, got {Engine.KvBudgetMB}");
        Check(Engine.MaxSlots > 0, "Engine:MaxSlots", $"must be positive, got {Engine.MaxSlots}");
        Check(Engine.PrefillChunk > 0, "Engine:PrefillChunk", $"must be positive, got {Engine.PrefillChunk}");
        Check(Engine.Threads >= 0, "Engine:Threads", $"must be 0 (automatic) or more, got {Engine.Threads}");
        Check(Engine.MaxSequenceLength >= 0, "Engine:MaxSequenceLength", $"must be 0 (the model's, at most 4096) or more, got {Engine.MaxSequenceLength}");
        Check(Engine.Device.ToLowerInvariant() is "auto" or "cpu" or "cuda", "Engine:Device", $"'{Engine.Device}' is not one of auto, cpu, cuda");
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

/// <summary>How `treepo train`'s trainer runs the policy update (docs/training.md).</summary>
public sealed class PolicyUpdateOptions
{
    /// <summary>On: tree-packed (every shared token prefix computed once, for treepo and grpo alike). Off: one padded
    /// row per trajectory.</summary>
    public UpdatePacking Packing { get; set; } = UpdatePacking.On;

    /// <summary>Recompute: the trainer's own forward before the first update (the first mini-batch's from its own
    /// training pass; deterministic). Engine: the log-probs the engine returned with the samples (no pass at all).</summary>
    public OldLogProbSource OldLogProbs { get; set; } = OldLogProbSource.Recompute;

    // The wire record's defaults are the one source of the trainer's defaults.
    static readonly TreePO.Grains.Training.TrainerSettings Wire = new();

    /// <summary>AdamW peak learning rate, reached after <see cref="WarmupSteps"/> (constant after).</summary>
    public double LearningRate { get; set; } = Wire.LearningRate;
    /// <summary>Optimiser steps of linear warm-up from 0.</summary>
    public int WarmupSteps { get; set; } = Wire.WarmupSteps;
    public double WeightDecay { get; set; } = Wire.WeightDecay;
    /// <summary>Optimiser steps per training step (the batch split in this many mini-batches).</summary>
    public int MiniBatches { get; set; } = Wire.MiniBatches;
    /// <summary>Global gradient-norm clip.</summary>
    public double GradClip { get; set; } = Wire.GradClip;
    /// <summary>Most tokens per forward pass; a mini-batch is split into micro-batches under it.</summary>
    public int MicroBatchTokens { get; set; } = Wire.MicroBatchTokens;
    /// <summary>Lower clip of the ratio: 1 - EpsLow.</summary>
    public double EpsLow { get; set; } = Wire.EpsLow;
    /// <summary>Upper clip of the ratio (DAPO's clip-higher): 1 + EpsHigh.</summary>
    public double EpsHigh { get; set; } = Wire.EpsHigh;
    /// <summary>Dual-clip bound of negative advantages.</summary>
    public double DualClip { get; set; } = Wire.DualClip;
    /// <summary>Torch threads of the trainer; 0: all cores.</summary>
    public int TorchThreads { get; set; } = Wire.TorchThreads;

    /// <summary>The wire settings of these options for a run of <paramref name="algo"/>.</summary>
    public TreePO.Grains.Training.TrainerSettings ToSettings(string algo, string advantage = "", bool noRoot = false) => new(
        LearningRate: LearningRate, WeightDecay: WeightDecay, WarmupSteps: WarmupSteps, MiniBatches: MiniBatches, GradClip: GradClip,
        MicroBatchTokens: MicroBatchTokens, EpsLow: EpsLow, EpsHigh: EpsHigh, DualClip: DualClip, Algo: algo, TorchThreads: TorchThreads,
        Packing: Packing.ToString().ToLowerInvariant(), OldLogProbs: OldLogProbs.ToString().ToLowerInvariant(), Advantage: advantage, NoRoot: noRoot);
}

public enum UpdatePacking { On, Off }

public enum OldLogProbSource { Recompute, Engine }

/// <summary>The policy model every engine loads at activation.</summary>
public sealed class ModelOptions
{
    /// <summary>A Hugging Face folder (config.json, model.safetensors, tokenizer.json). Empty: the built-in model,
    /// models/builtin (see <see cref="Models.ModelFolder"/>).</summary>
    public string Path { get; set; } = "";
}

/// <summary>The engines of this silo.</summary>
public sealed class EngineHostOptions
{
    /// <summary>Engines (compute devices) this silo offers; 0 makes a silo that only hosts trees.</summary>
    public int Devices { get; set; } = 1;

    /// <summary>KV cache budget of each engine, in MiB.</summary>
    public long KvBudgetMB { get; set; } = 1024;

    /// <summary>Sequences one engine runs in a batch at most.</summary>
    public int MaxSlots { get; set; } = 64;

    /// <summary>Context tokens prefilled per sequence per step at most.</summary>
    public int PrefillChunk { get; set; } = 256;

    /// <summary>Torch threads per engine; 0: automatic (EngineOptions.ThreadsFor).</summary>
    public int Threads { get; set; }

    /// <summary>Longest path (prompt + response) an engine holds; 0: the model's max_position_embeddings, at most 4096.</summary>
    public int MaxSequenceLength { get; set; }

    /// <summary>"auto" (CUDA device i for engine i when present, else CPU), "cpu" or "cuda".</summary>
    public string Device { get; set; } = "auto";

    /// <summary>Engines that sleep for a cost model's step time and answer from a seeded script instead of running the
    /// model (scale tests without the hardware: `bench scale`); the model folder still gives the tokenizer.</summary>
    public bool Simulated { get; set; }

    /// <summary>The simulated engine's cost model and answers (used with <see cref="Simulated"/>).</summary>
    public EngineSimulationOptions Simulation { get; set; } = new();
}

/// <summary>Token sampling of rollouts.</summary>
public sealed class SamplingOptions
{
    public float Temperature { get; set; } = 1.0f;
    public float TopP { get; set; } = 1.0f;

    /// <summary>0 or less: no top-k filter.</summary>
    public int TopK { get; set; } = -1;
}

/// <summary>
/// Tree sampling parameters (docs/paper.md), every field of the core <see cref="TreeConfig"/> a user sets;
/// <see cref="TreePOOptions.TreeConfig"/> maps them, with Sampling, onto it. Defaults are small enough for the
/// built-in model; the core defaults (the authors' run) are in docs/configuration.md.
/// </summary>
public sealed class TreeOptions
{
    /// <summary>w: trajectories per query.</summary>
    public int Width { get; set; } = 8;
    /// <summary>d: segments on one path at most.</summary>
    public int Depth { get; set; } = 4;
    /// <summary>l: tokens per segment.</summary>
    public int SegmentLength { get; set; } = 32;
    /// <summary>b: branches per fork.</summary>
    public int Branch { get; set; } = 2;
    /// <summary>Lower end of a random first fork; -1: b.</summary>
    public int InitDivergenceMin { get; set; } = -1;
    /// <summary>Upper end of a random first fork; -1: a fixed first fork of b.</summary>
    public int InitDivergenceMax { get; set; } = -1;
    /// <summary>Most response tokens on one path; -1: d·l.</summary>
    public int MaxResponseTokens { get; set; } = -1;

    public BranchingPolicy Branching { get; set; } = BranchingPolicy.EvenSplit;
    public LogProbScore LogProbScore { get; set; } = LogProbScore.LastSegment;
    public LogProbDirection LogProbDirection { get; set; } = LogProbDirection.LowProbEncouraged;
    public double LogProbTemperature { get; set; } = 1.0;
    public TemperatureSchedule TemperatureSchedule { get; set; } = TemperatureSchedule.Constant;
    public double TemperatureMin { get; set; } = 1.0;
    public double TemperatureMax { get; set; } = 5.0;
    /// <summary>The training step at which a sinusoidal schedule reaches its end (step 1 is its start); 1: the run's
    /// last step. `treepo train` keeps a value set here (core/Training/ScheduleStep.cs).</summary>
    public int ScheduleTotalSteps { get; set; } = 1;

    public FallbackPolicy Fallback { get; set; } = FallbackPolicy.Random;
    public FallbackCandidatePolicy FallbackCandidates { get; set; } = FallbackCandidatePolicy.SoftBoxedAndEos;
    public int MaxFallbackWindow { get; set; } = -1;
    public int BoxedMinSegments { get; set; } = 1;

    public BoxedStopPolicy BoxedStop { get; set; } = BoxedStopPolicy.BoxedAndEosFirst;
    public RepetitionPriority Repetition { get; set; } = RepetitionPriority.LeastPrioritized;
    public int RepetitionWindow { get; set; } = 32;
    public int RepetitionCount { get; set; } = 8;

    /// <summary>Tree, or Sequential (w independent samples sharing only the prompt).</summary>
    public SamplingMode Mode { get; set; } = SamplingMode.Tree;
}

/// <summary>`treepo train` settings that have an options-tree key besides their flag.</summary>
public sealed class TrainingOptions
{
    /// <summary>Write each step's trained trees, with rewards and advantages, to runs/NAME/trees/step-N.jsonl
    /// (`--save-trees` turns it on too).</summary>
    public bool SaveTrees { get; set; }
}

/// <summary>How a question becomes a prompt: one place, shared by every process that tokenizes.</summary>
public sealed class PromptOptions
{
    /// <summary>Auto: the model folder's chat_template, which must be ChatML-style (refused otherwise, naming the
    /// file); ChatML: ChatML whatever the template (`--chat-format chatml`); Raw: the question text as is
    /// (`--chat-format raw`). Chat and Plain are the older names of ChatML and Raw.</summary>
    public PromptFormat Format { get; set; } = PromptFormat.Auto;

    /// <summary>Chat only. Empty: no system turn (the built-in model). "default": the TreePO reference's
    /// "Please reason step by step ..." (Qwen math models). Anything else is used as written.</summary>
    public string SystemPrompt { get; set; } = "";

    public const string DefaultKeyword = "default";

    /// <summary>The system prompt to use, or null for none.</summary>
    public string? ResolvedSystemPrompt => string.IsNullOrEmpty(SystemPrompt) ? null
        : SystemPrompt.Equals(DefaultKeyword, StringComparison.OrdinalIgnoreCase) ? ChatFormat.DefaultSystemPrompt
        : SystemPrompt;
}

public enum PromptFormat { Auto, ChatML, Raw, Chat = ChatML, Plain = Raw }

/// <summary>How silos find each other and clients find silos (docs/deploy.md for several machines).</summary>
public sealed class ClusterOptions
{
    public static readonly string[] Clusterings = ["localhost", "redis", "postgres"];

    /// <summary>Membership provider. "localhost": silos on this machine, bound to loopback, the first one at
    /// <see cref="PrimarySiloPort"/>. "redis": the membership table in Redis at <see cref="Redis"/>; silos on any
    /// machine, clients find every gateway there, tree state is kept there too. "postgres": the membership table in
    /// PostgreSQL at <see cref="Postgres"/> (the project's own schema, applied by the silos); tree state is kept
    /// there too.</summary>
    public string Clustering { get; set; } = "localhost";

    /// <summary>StackExchange.Redis connection string of the membership store ("host:port[,password=...]").</summary>
    public string Redis { get; set; } = "127.0.0.1:6379";

    /// <summary>Npgsql connection string of the membership database (postgres clustering). The database must exist
    /// (scripts/ensure-postgres.sh makes one); the silos create the tables.</summary>
    public string Postgres { get; set; } = "Host=127.0.0.1;Port=5432;Username=postgres;Database=treepo";

    /// <summary>The address other silos and clients reach this silo at (redis or postgres clustering). Empty: 127.0.0.1, so a
    /// silo is reachable from this machine only until it is given its LAN address.</summary>
    public string AdvertisedAddress { get; set; } = "";

    /// <summary>The address the silo and gateway ports listen on. Empty: the advertised address (loopback by default);
    /// "0.0.0.0" listens on every interface.</summary>
    public string ListenAddress { get; set; } = "";

    public string ClusterId { get; set; } = "treepo";
    public string ServiceId { get; set; } = "treepo";
    public int SiloPort { get; set; } = 11111;
    public int GatewayPort { get; set; } = 30000;

    /// <summary>The port a silo serves weight snapshots on (plain TCP beside Orleans, off under TLS): 0 takes a free
    /// port when the first trainer publishes; set one to open it in a firewall between silos.</summary>
    public int WeightStreamPort { get; set; }

    /// <summary>The silo port of the first silo, which the others join.</summary>
    public int PrimarySiloPort { get; set; } = 11111;

    /// <summary>Orleans response timeout of ordinary grain calls (long calls carry their own).</summary>
    public TimeSpan ResponseTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Failure detection: a silo that misses <see cref="MissedProbesLimit"/> probes of this length in a row
    /// is voted dead. Orleans' defaults (5 s, 3) take 15-20 s to notice a killed process.</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    public int MissedProbesLimit { get; set; } = 3;

    /// <summary>How long a silo process (or `rollout`/`train` with its embedded silo) takes at most to exit after
    /// SIGTERM or Ctrl+C: the graceful stop gets two thirds of it, the ungraceful stop the rest, then the process
    /// exits anyway (<see cref="Processes.ShutdownGuard"/>), whatever its membership store does.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public ClusterTlsOptions Tls { get; set; } = new();

    public ClusterDashboardOptions Dashboard { get; set; } = new();

    /// <summary>Redis clustering: the membership key prefix and the tree state live in the same Redis.</summary>
    public bool IsRedis => Clustering.Equals("redis", StringComparison.OrdinalIgnoreCase);

    /// <summary>Postgres clustering: the membership table lives in PostgreSQL.</summary>
    public bool IsPostgres => Clustering.Equals("postgres", StringComparison.OrdinalIgnoreCase);

    /// <summary>Membership in an external store (redis or postgres): silos on any machine, gateways found there.</summary>
    public bool IsShared => IsRedis || IsPostgres;
}

/// <summary>TLS on silo-to-silo and client-to-gateway connections (Microsoft.Orleans.Connections.Security). Every
/// process of the cluster holds the cluster certificate (scripts/make-dev-cert.sh makes a self-signed one) and
/// accepts a peer only when it presents that same certificate, or one issued by <see cref="CaPath"/>.</summary>
public sealed class ClusterTlsOptions
{
    public bool Enabled { get; set; }

    /// <summary>The certificate with its private key: a .pfx/.p12 file, or a PEM certificate (with
    /// <see cref="KeyPath"/>).</summary>
    public string CertificatePath { get; set; } = "";

    /// <summary>The PEM private key for a PEM <see cref="CertificatePath"/>; empty for a PFX.</summary>
    public string KeyPath { get; set; } = "";

    /// <summary>The PFX password, if any (better set through TREEPO__CLUSTER__TLS__PASSWORD).</summary>
    public string Password { get; set; } = "";

    /// <summary>A PEM CA certificate that signed the peers' certificates. Empty: peers must present the very
    /// certificate this process holds (one shared cluster certificate).</summary>
    public string CaPath { get; set; } = "";
}

/// <summary>The Orleans Dashboard (Microsoft.Orleans.Dashboard) served by a silo over HTTP, at
/// http://Address:Port/dashboard/. Off unless enabled; it has no authentication, so it listens on loopback unless
/// told otherwise (reach it from another machine through an SSH tunnel: docs/deploy.md).</summary>
public sealed class ClusterDashboardOptions
{
    public bool Enabled { get; set; }

    public int Port { get; set; } = 8080;

    /// <summary>The IP the dashboard listens on. Anything but loopback exposes an unauthenticated page: the silo
    /// warns when it does.</summary>
    public string Address { get; set; } = "127.0.0.1";
}
