namespace TreePO.Grains.Training;

/// <summary>What an engine needs before pulling weight <paramref name="Version"/>: the safetensors file's size, its
/// header (to check the keys and shapes and lay out the staging buffers up front) and how the trainer chunked it.
/// <paramref name="CaptureSeconds"/>: the trainer's tensor-to-bytes time for this version (once for all engines).
/// <paramref name="ChunkSha256"/>: the SHA-256 of each chunk in order (32 bytes each), checked by the engine whatever
/// path the bytes take.</summary>
[GenerateSerializer, Immutable, Alias("treepo.weight-manifest")]
public sealed record WeightManifest(
    [property: Id(0)] int Version,
    [property: Id(1)] long TotalBytes,
    [property: Id(2)] int ChunkBytes,
    [property: Id(3)] int ChunkCount,
    [property: Id(4)] byte[] Header,
    [property: Id(5)] double CaptureSeconds,
    [property: Id(6)] byte[] ChunkSha256);

/// <summary>Chunk <paramref name="Index"/> of weight <paramref name="Version"/>: the file's bytes from
/// <c>Index * ChunkBytes</c>. Immutable: the trainer hands out its snapshot's array without a copy.</summary>
[GenerateSerializer, Immutable, Alias("treepo.weight-chunk")]
public sealed record WeightChunk(
    [property: Id(0)] int Version,
    [property: Id(1)] int Index,
    [property: Id(2)] byte[] Bytes);
