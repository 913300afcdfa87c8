namespace TreePO.Grains.Training;

/// <summary>Where to read weight <paramref name="Version"/> as one plain byte stream, outside Orleans' messages: a TCP
/// endpoint on the trainer's silo (its own listen address) and a one-time <paramref name="Token"/> that the engine
/// sends first. The stream is the safetensors file the manifest describes.</summary>
[GenerateSerializer, Immutable, Alias("treepo.weight-stream-offer")]
public sealed record WeightStreamOffer(
    [property: Id(0)] int Version,
    [property: Id(1)] string Host,
    [property: Id(2)] int Port,
    [property: Id(3)] byte[] Token);
