using TreePO.Engine.Checkpoint;
using TreePO.Engine.Model;
using TreePO.Engine.Training;

namespace TreePO.Engine.Tests.Training;

public sealed class TrainerHostTests
{
    static string TinyModelDir(ulong seed)
    {
        string dir = TreePO.Testing.ScratchFolders.Create("treepo-trainer-").FullName;
        Qwen2Checkpoint.WriteRandom(dir, Qwen2Config.Tiny(), seed);
        return dir;
    }

    static readonly TrainingSample Up = new(new[] { 5, 6, 7 }, new[] { 8, 9, 10, 11 }, +1f);
    static readonly TrainingSample Down = new(new[] { 5, 6, 7 }, new[] { 12, 13 }, -1f);

    [Fact]
    public async Task Disposing_during_an_update_neither_blocks_the_caller_nor_cuts_the_update_short()
    {
        var host = await TrainerHost.StartAsync(TinyModelDir(1), new TrainerOptions { LearningRate = 5e-3, WarmupSteps = 0, MiniBatches = 1 });
        var update = host.TrainAsync([.. Enumerable.Repeat(Up, 16), .. Enumerable.Repeat(Down, 16)], seed: 1);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var disposing = host.DisposeAsync();
        // Returned at once, still pending (it used to join the model thread on the caller's thread).
        Assert.False(disposing.IsCompleted && !update.IsCompleted, "DisposeAsync finished before the update it must wait for");
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(500), $"DisposeAsync held its caller for {clock.Elapsed.TotalMilliseconds:F0} ms");
        var stats = await update.WaitAsync(TimeSpan.FromSeconds(60));   // the update in progress finished whole
        Assert.Equal(32, stats.Samples);
        Assert.Equal(1, host.Version);
        await disposing.AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => host.TrainAsync([Up], seed: 2));
        await host.DisposeAsync();   // twice is fine
    }

    [Fact]
    public async Task A_step_publishes_the_next_version_whose_weights_load_into_an_engine_model()
    {
        await using var host = await TrainerHost.StartAsync(TinyModelDir(1),
            new TrainerOptions { LearningRate = 5e-3, WarmupSteps = 0, MiniBatches = 1 }, version: 3);
        var (v0, w0) = (host.Snapshot.Version, host.Snapshot.ToArray());
        Assert.Equal(3, v0);
        var before = await host.ResponseLogProbsAsync(new[] { Up, Down });

        await host.TrainAsync(new[] { Up, Down }, seed: 1);

        var after = await host.ResponseLogProbsAsync(new[] { Up, Down });
        Assert.True(after[0].Average() > before[0].Average());
        Assert.True(after[1].Average() < before[1].Average());
        var (v1, w1) = (host.Snapshot.Version, host.Snapshot.ToArray());
        Assert.Equal(4, v1);
        Assert.NotEqual(w0, w1);

        // The published bytes are the trained weights: loading them gives the same log-probs.
        using var replica = Qwen2Model.Random(Qwen2Config.Tiny(), 99);
        Qwen2Checkpoint.LoadWeights(replica, new MemoryStream(w1));
        using var scope = TorchSharp.torch.NewDisposeScope();
        var ids = TorchSharp.torch.tensor(new long[] { 5, 6, 7, 8, 9, 10, 11 }).unsqueeze(0);
        float[] lp = TrainerHost.NextTokenLogProbs(replica, ids).data<float>().ToArray()[2..];
        for (int i = 0; i < lp.Length; i++) Assert.Equal(after[0][i], lp[i], 4);
    }

    [Fact]
    public async Task A_saved_checkpoint_resumes_weights_and_optimiser()
    {
        var options = new TrainerOptions { LearningRate = 5e-3, WarmupSteps = 4, MiniBatches = 2 };
        string dir = TinyModelDir(2);
        byte[] straight;
        await using (var host = await TrainerHost.StartAsync(dir, options))
        {
            await host.TrainAsync(new[] { Up, Down }, 1);
            await host.TrainAsync(new[] { Up, Down }, 2);
            straight = host.Snapshot.ToArray();
        }
        string ckpt = TreePO.Testing.ScratchFolders.Create("treepo-ckpt-").FullName;
        await using (var host = await TrainerHost.StartAsync(dir, options))
        {
            await host.TrainAsync(new[] { Up, Down }, 1);
            await host.SaveAsync(ckpt);
        }
        Assert.True(File.Exists(Path.Combine(ckpt, "config.json")));
        Assert.True(File.Exists(Path.Combine(ckpt, "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(ckpt, TrainerHost.OptimizerFile)));
        await using (var host = await TrainerHost.StartAsync(ckpt, options, version: 1))
        {
            await host.TrainAsync(new[] { Up, Down }, 2);
            Assert.Equal(2, host.Version);
            Assert.Equal(straight, host.Snapshot.ToArray());
        }
    }

    [Fact]
    public async Task Samples_the_model_cannot_take_are_refused_by_name()
    {
        await using var host = await TrainerHost.StartAsync(TinyModelDir(3), new TrainerOptions());
        var e = await Assert.ThrowsAsync<ArgumentException>(() =>
            host.TrainAsync(new[] { new TrainingSample(new[] { 1 }, new[] { 1_000_000 }, 1f) }, 1));
        Assert.Contains("vocabulary", e.Message);
        Assert.Equal(0, host.Version);
    }
}
