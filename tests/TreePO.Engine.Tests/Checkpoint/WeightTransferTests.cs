using TreePO.Engine.Checkpoint;
using TreePO.Engine.Model;
using TreePO.Engine.Native;
using static TorchSharp.torch;
using static TreePO.Engine.Tests.Engine.EngineFixture;

namespace TreePO.Engine.Tests.Checkpoint;

/// <summary>The chunked weight path: the trainer's <see cref="WeightSnapshot"/>, the engine's <see cref="StagedWeights"/>.</summary>
public sealed class WeightTransferTests
{
    static Qwen2Model Model(ulong seed, bool tied = true)
    {
        TorchRuntime.EnsureLoaded();
        return Qwen2Model.Random(Qwen2Config.Tiny(tied), seed);
    }

    static byte[] Safetensors(Qwen2Model m)
    {
        using var ms = new MemoryStream();
        Qwen2Checkpoint.WriteWeights(m, ms);
        return ms.ToArray();
    }

    static void SameWeights(Qwen2Model expected, Qwen2Model actual)
    {
        var a = actual.state_dict();
        foreach (var (name, t) in expected.state_dict())
            Assert.True(t.bytes.SequenceEqual(a[name].bytes), $"{name} differs");   // bit-exact
    }

    [Theory]
    [InlineData(7)]          // every tensor split across many chunks; the header too
    [InlineData(1000)]       // boundaries inside tensors
    [InlineData(1 << 24)]    // one chunk
    public void A_snapshot_holds_exactly_the_safetensors_bytes_in_chunks(int chunkBytes)
    {
        using var m = Model(1);
        var snap = WeightSnapshot.Capture(5, m.state_dict(), chunkBytes);
        byte[] expected = Safetensors(m);
        Assert.Equal(5, snap.Version);
        Assert.Equal(expected.Length, snap.TotalBytes);
        Assert.Equal(expected, snap.ToArray());
        Assert.Equal(expected.AsSpan(0, snap.Header.Length).ToArray(), snap.Header);
        Assert.Equal((expected.Length + chunkBytes - 1) / chunkBytes, snap.ChunkCount);
        for (int i = 0; i < snap.ChunkCount; i++)
            Assert.Equal(expected.AsSpan(i * chunkBytes, Math.Min(chunkBytes, expected.Length - i * chunkBytes)).ToArray(), snap.Chunk(i));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]   // untied: lm_head is staged too
    public void Chunks_written_out_of_order_from_several_threads_swap_in_bit_exact(bool tied)
    {
        using var engineModel = Model(1, tied);
        using var trained = Model(2, tied);
        var snap = WeightSnapshot.Capture(3, trained.state_dict(), chunkBytes: 999);
        using var staged = StagedWeights.Open(engineModel, 3, snap.Header, snap.TotalBytes);
        var order = Enumerable.Range(0, snap.ChunkCount).OrderBy(i => new Random(i * 31 + 7).Next()).ToArray();
        Parallel.ForEach(order, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => staged.Write((long)i * snap.ChunkBytes, snap.Chunk(i)));
        Assert.True(staged.IsComplete);
        staged.CopyInto(engineModel);
        SameWeights(trained, engineModel);
    }

    [Fact]
    public void A_tied_checkpoint_with_lm_head_skips_its_bytes()
    {
        using var engineModel = Model(1, tied: true);
        using var untied = Model(2, tied: false);
        var snap = WeightSnapshot.Capture(1, untied.state_dict(), chunkBytes: 4096);   // carries lm_head.weight
        using var staged = StagedWeights.Open(engineModel, 1, snap.Header, snap.TotalBytes);
        for (int i = snap.ChunkCount - 1; i >= 0; i--) staged.Write((long)i * snap.ChunkBytes, snap.Chunk(i));
        staged.CopyInto(engineModel);
        var got = engineModel.state_dict();
        foreach (var (name, t) in untied.state_dict().Where(kv => kv.Key != "lm_head.weight"))
            Assert.True(t.bytes.SequenceEqual(got[name].bytes), name);
    }

    [Fact]
    public void An_incomplete_or_doubled_transfer_is_refused_and_the_weights_stay()
    {
        using var engineModel = Model(1);
        using var before = Model(1);
        using var trained = Model(2);
        var snap = WeightSnapshot.Capture(2, trained.state_dict(), chunkBytes: 2048);
        using var staged = StagedWeights.Open(engineModel, 2, snap.Header, snap.TotalBytes);
        for (int i = 0; i < snap.ChunkCount - 1; i++) staged.Write((long)i * snap.ChunkBytes, snap.Chunk(i));
        var missing = Assert.Throws<InvalidDataException>(() => staged.CopyInto(engineModel));
        Assert.Contains($"{snap.TotalBytes - snap.Chunk(snap.ChunkCount - 1).Length} of {snap.TotalBytes} bytes arrived", missing.Message);
        SameWeights(before, engineModel);

        var twice = Assert.Throws<InvalidDataException>(() => staged.Write(0, snap.Chunk(0)));
        Assert.Contains("more than", twice.Message);
        Assert.Throws<InvalidDataException>(() => staged.Write(snap.TotalBytes - 1, new byte[2]));
    }

    [Fact]
    public void A_header_that_does_not_fit_the_model_fails_before_any_buffer()
    {
        using var engineModel = Model(1);
        using var wrong = Qwen2Model.Random(Qwen2Config.Tiny() with { HiddenSize = 32 }, 1);
        var snap = WeightSnapshot.Capture(1, wrong.state_dict());
        var e = Assert.Throws<InvalidDataException>(() => StagedWeights.Open(engineModel, 1, snap.Header, snap.TotalBytes));
        Assert.Contains("weights of version 1", e.Message);
        Assert.Contains("has shape", e.Message);
        var size = Assert.Throws<InvalidDataException>(() => StagedWeights.Open(engineModel, 1, WeightSnapshot.Capture(1, engineModel.state_dict()).Header, 10_000));
        Assert.Contains("announced", size.Message);

        // Header bytes that differ from the announced header are refused.
        var ok = WeightSnapshot.Capture(1, engineModel.state_dict(), 64);
        using var staged = StagedWeights.Open(engineModel, 1, ok.Header, ok.TotalBytes);
        byte[] bad = [.. ok.Chunk(0)];
        bad[20] ^= 1;
        Assert.Throws<InvalidDataException>(() => staged.Write(0, bad));
    }

    [Fact]
    public async Task The_engine_swaps_staged_weights_in_and_serves_them_like_a_fresh_load()
    {
        string otherDir = TestModels.WriteTiny(seed: 78);
        using var other = Qwen2Checkpoint.Load(otherDir);
        var snap = WeightSnapshot.Capture(1, other.state_dict(), chunkBytes: 3000);
        await using var engine = Start();
        int[] prompt = TestModels.RandomTokens(15, 6);
        await engine.GenerateAsync(Request(prompt, seed: 3, parent: "root", version: 0)).WaitAsync(TimeSpan.FromSeconds(60));

        using (var staged = await engine.StageWeightsAsync(1, snap.Header, snap.TotalBytes))
        {
            for (int i = 0; i < snap.ChunkCount; i += 2) staged.Write((long)i * snap.ChunkBytes, snap.Chunk(i));
            await Assert.ThrowsAsync<InvalidDataException>(() => engine.LoadWeightsAsync(staged));
            Assert.Equal(0, engine.PolicyVersion);
            for (int i = 1; i < snap.ChunkCount; i += 2) staged.Write((long)i * snap.ChunkBytes, snap.Chunk(i));
            await engine.LoadWeightsAsync(staged);
        }
        Assert.Equal(1, engine.PolicyVersion);
        Assert.Equal(0, engine.GetStats().CachedNodes);
        var next = Request(prompt, seed: 4, version: 1);
        var result = await engine.GenerateAsync(next).WaitAsync(TimeSpan.FromSeconds(60));
        await using var fresh = Start(otherDir);
        SameBranches(await fresh.GenerateAsync(Again(next) with { PolicyVersion = -1 }).WaitAsync(TimeSpan.FromSeconds(60)), result, tolerance: 0);
    }
}
