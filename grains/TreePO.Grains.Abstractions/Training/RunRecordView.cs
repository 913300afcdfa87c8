namespace TreePO.Grains.Training;

/// <summary>What the cluster's run storage holds for a run (redis and postgres clusters, where runs recover without
/// their client): whether it is still meant to be training (a reminder resumes it if no silo runs it), the step its
/// latest checkpoint holds, how many times its reminder resumed it, and its length in steps.</summary>
[GenerateSerializer, Immutable, Alias("treepo.run-record-view")]
public sealed record RunRecordView(
    [property: Id(0)] bool Active,
    [property: Id(1)] int CheckpointedStep,
    [property: Id(2)] int Recoveries,
    [property: Id(3)] int Steps);
