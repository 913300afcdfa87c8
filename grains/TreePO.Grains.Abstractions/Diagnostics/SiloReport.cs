namespace TreePO.Grains.Diagnostics;

/// <summary>What a silo reports about itself: where it runs and what compute it has.</summary>
[GenerateSerializer, Immutable, Alias("treepo.silo-report")]
public sealed record SiloReport(
    [property: Id(0)] string Silo,
    [property: Id(1)] string MachineName,
    [property: Id(2)] int ProcessId,
    [property: Id(3)] string TorchSharpVersion,
    [property: Id(4)] string[] Devices,
    [property: Id(5)] int TorchThreads,
    [property: Id(6)] string NativeRepair);
