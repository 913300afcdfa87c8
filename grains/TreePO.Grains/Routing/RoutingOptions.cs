namespace TreePO.Grains.Routing;

/// <summary>How trees pick and leave engines. Bound from the options tree's Routing section by the host.</summary>
public sealed class RoutingOptions
{
    /// <summary>Prefer an engine on the tree's own silo; otherwise pick the least loaded engine of the cluster.</summary>
    public bool PreferLocal { get; set; } = true;

    /// <summary>A segment request that takes longer has its engine checked: one still stepping keeps it (the wait goes
    /// on, window after window); a gone or stalled one has it cancelled and sent elsewhere.</summary>
    public TimeSpan SegmentTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Attempts per segment request before its tree fails.</summary>
    public int MaxAttempts { get; set; } = 4;

    /// <summary>How long a tree waits for an engine to appear (a silo just joined, metadata not yet seen).</summary>
    public TimeSpan EngineWaitTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Limit on asking a remote engine for its load; also the window over which a request past
    /// <see cref="SegmentTimeout"/> checks that its engine still steps.</summary>
    public TimeSpan LoadProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);
}
