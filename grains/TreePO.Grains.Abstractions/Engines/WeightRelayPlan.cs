namespace TreePO.Grains.Engines;

/// <summary>An engine's place in a fan-out tree for one sync (Cluster:WeightFanout=tree): it reads the version from
/// engine <paramref name="From"/> while that one receives it (null: from the trainer), and re-serves it to
/// <paramref name="Children"/> engines below it. <paramref name="Round"/> names the sync, so that a relay of an
/// earlier sync of the same version is never mistaken for this one.</summary>
[GenerateSerializer, Immutable, Alias("treepo.weight-relay-plan")]
public sealed record WeightRelayPlan(
    [property: Id(0)] string Round,
    [property: Id(1)] string? From,
    [property: Id(2)] int Children);
