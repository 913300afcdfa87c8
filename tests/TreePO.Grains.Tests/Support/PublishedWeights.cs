using TreePO.Grains.Training;

namespace TreePO.Grains.Tests.Support;

/// <summary>The safetensors bytes a trainer publishes for a version, read through its manifest and chunks.</summary>
public static class PublishedWeights
{
    public static async Task<byte[]> ReadAsync(ITrainerGrain trainer, int version)
    {
        var manifest = await trainer.GetWeightManifestAsync(version);
        var all = new byte[manifest.TotalBytes];
        for (int i = 0; i < manifest.ChunkCount; i++)
        {
            var chunk = await trainer.GetWeightChunkAsync(version, i);
            chunk.Bytes.CopyTo(all, (long)i * manifest.ChunkBytes);
        }
        return all;
    }
}
