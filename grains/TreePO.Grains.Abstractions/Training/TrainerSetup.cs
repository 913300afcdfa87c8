namespace TreePO.Grains.Training;

/// <summary>Where a trainer starts: a model folder in Hugging Face layout (a base model or a checkpoint, whose
/// optimizer.bin is loaded when present) and the weight version it holds.</summary>
[GenerateSerializer, Immutable, Alias("treepo.trainer-setup")]
public sealed record TrainerSetup(
    [property: Id(0)] string ModelDir,
    [property: Id(1)] int Version,
    [property: Id(2)] TrainerSettings Settings);
