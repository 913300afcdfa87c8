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
    public RoutingOptions Routing { get; set; } = new();
    public ClusterOptions Cluster { get; set; } = new();

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
        Check(Sampling.Temperature > 0, "Sampling:Temperature", $"must be positive, got {Sampling.Temperature}");
        Check(Sampling.TopP > 0 && Sampling.TopP <= 1, "Sampling:TopP", $"must be in (0, 1], got {Sampling.TopP}");
        Check(Tree.Width > 0, "Tree:Width", $"must be positive, got {Tree.Width}");
        Check(Tree.Depth > 0, "Tree:Depth", $"must be positive, got {Tree.Depth}");
        Check(Tree.SegmentLength > 0, "Tree:SegmentLength", $"must be positive, got {Tree.SegmentLength}");
        Check(Tree.Branch > 0, "Tree:Branch", $"must be positive, got {Tree.Branch}");
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
        return errors;
    }
}

/// <summary>The policy model every engine loads at activation.</summary>
public sealed class ModelOptions
{
    /// <summary>A Hugging Face folder (config.json, model.safetensors, tokenizer.json). Empty: the built-in model.</summary>
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

    /// <summary>Torch threads per engine; 0 lets the engine decide.</summary>
    public int Threads { get; set; }
}

/// <summary>Token sampling of rollouts.</summary>
public sealed class SamplingOptions
{
    public float Temperature { get; set; } = 1.0f;
    public float TopP { get; set; } = 1.0f;

    /// <summary>0 or less: no top-k filter.</summary>
    public int TopK { get; set; } = -1;
}

/// <summary>Tree sampling parameters (docs/treepo-reference.md): width w, depth d, segment length l, branching b.</summary>
public sealed class TreeOptions
{
    public int Width { get; set; } = 8;
    public int Depth { get; set; } = 4;
    public int SegmentLength { get; set; } = 32;
    public int Branch { get; set; } = 2;

    /// <summary>Tree, or Sequential (w independent samples sharing only the prompt).</summary>
    public RolloutMode Mode { get; set; } = RolloutMode.Tree;
}

public enum RolloutMode { Tree, Sequential }

/// <summary>How silos find each other and clients find silos.</summary>
public sealed class ClusterOptions
{
    public static readonly string[] Clusterings = ["localhost"];

    /// <summary>Membership provider. "localhost": silos on this machine, bound to loopback, the first one at
    /// <see cref="PrimarySiloPort"/>.</summary>
    public string Clustering { get; set; } = "localhost";

    public string ClusterId { get; set; } = "treepo";
    public string ServiceId { get; set; } = "treepo";
    public int SiloPort { get; set; } = 11111;
    public int GatewayPort { get; set; } = 30000;

    /// <summary>The silo port of the first silo, which the others join.</summary>
    public int PrimarySiloPort { get; set; } = 11111;

    /// <summary>Orleans response timeout of ordinary grain calls (long calls carry their own).</summary>
    public TimeSpan ResponseTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
