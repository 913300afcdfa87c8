namespace TreePO.Hosting.Options;

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

    /// <summary>A cap on what this silo's weight stream sends, MB/s over all connections (0: none).</summary>
    public int WeightStreamMBps { get; set; }

    /// <summary>How a new weight version reaches the engines: "direct" (each pulls it from the trainer's silo) or
    /// "tree" (engines pass it on to <see cref="WeightFanoutDegree"/> more while they receive it; docs/cluster.md).</summary>
    public string WeightFanout { get; set; } = TreePO.Grains.Training.WeightFanout.Direct;

    /// <summary>Engines each sender serves under <see cref="WeightFanout"/>=tree (the trainer's silo included).</summary>
    public int WeightFanoutDegree { get; set; } = 2;

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
