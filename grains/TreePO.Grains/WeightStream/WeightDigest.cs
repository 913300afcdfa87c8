using System.Security.Cryptography;
using TreePO.Engine.Checkpoint;
using TreePO.Grains.Training;

namespace TreePO.Grains.WeightStream;

/// <summary>
/// The content hash of a published weight version: SHA-256 of each chunk, in order, carried in the manifest. Whatever
/// path the bytes took (stream or Orleans chunks), the engine checks every chunk against it before the swap, so a
/// corrupted or mixed-up transfer fails the pull instead of serving wrong weights.
/// </summary>
public static class WeightDigest
{
    public const int HashBytes = 32;

    /// <summary>The chunk hashes of <paramref name="snapshot"/>, chunk after chunk (computed in parallel).</summary>
    public static byte[] Of(WeightSnapshot snapshot)
    {
        var all = new byte[snapshot.ChunkCount * HashBytes];
        Parallel.For(0, snapshot.ChunkCount, i => SHA256.HashData(snapshot.Chunk(i), all.AsSpan(i * HashBytes, HashBytes)));
        return all;
    }

    /// <summary>Fails unless <paramref name="hash"/> is the manifest's hash of chunk <paramref name="index"/>.</summary>
    public static void Check(WeightManifest manifest, int index, ReadOnlySpan<byte> hash)
    {
        if (manifest.ChunkSha256.Length != manifest.ChunkCount * HashBytes)
            throw new InvalidDataException(
                $"weights of version {manifest.Version}: the manifest carries {manifest.ChunkSha256.Length / HashBytes} chunk hashes for {manifest.ChunkCount} chunks");
        if (!hash.SequenceEqual(manifest.ChunkSha256.AsSpan(index * HashBytes, HashBytes)))
            throw new InvalidDataException(
                $"weights of version {manifest.Version}: chunk {index} of {manifest.ChunkCount} does not match the trainer's SHA-256; not swapped in");
    }

    /// <summary><see cref="Check"/> of a whole chunk's bytes.</summary>
    public static void CheckChunk(WeightManifest manifest, int index, ReadOnlySpan<byte> bytes)
    {
        Span<byte> hash = stackalloc byte[HashBytes];
        SHA256.HashData(bytes, hash);
        Check(manifest, index, hash);
    }
}
