using TorchSharp;
using TreePO.Engine.Checkpoint;
using TreePO.Engine.Model;
using TreePO.Engine.Native;
using TreePO.Engine.Training;
using TreePO.Testing;

namespace TreePO.Engine.Tests.Training;

/// <summary>The trainer's <see cref="TrainerOptions.Device"/>: "cpu" named explicitly is the default, bit for bit, and
/// a name the process cannot use is refused at start by its option's name. (No GPU here: that CUDA trains is not
/// shown by these tests.)</summary>
public sealed class TrainerDeviceTests
{
    static List<TrainingSample> Samples(int seed)
    {
        var rng = new Random(seed);
        var trees = Enumerable.Range(0, 4).Select(i => PackedUpdateTests.RandomTree(rng, $"d{seed}-{i}")).ToList();
        return TrajectorySamples.Build(trees, 0, TrajectorySamples.AdvantageFor("treepo"), out _);
    }

    sealed record Run(PolicyStepStats[] Steps, float[][] Before, float[][] After, byte[] Weights, byte[] Optimizer, byte[] Resumed);

    static async Task<Run> Train(string modelDir, TrainerOptions options, List<TrainingSample> samples)
    {
        using var checkpoint = new TempFolder("treepo-device-ckpt-");
        var steps = new List<PolicyStepStats>();
        float[][] before, after;
        byte[] weights;
        await using (var host = await TrainerHost.StartAsync(modelDir, options))
        {
            Assert.Equal(DeviceType.CPU, host.Device.type);
            before = await host.ResponseLogProbsAsync(samples);
            for (ulong s = 1; s <= 2; s++) steps.Add((await host.TrainAsync(samples, s)) with { Seconds = 0 });
            after = await host.ResponseLogProbsAsync(samples);
            weights = host.Snapshot.ToArray();
            await host.SaveAsync(checkpoint);
        }
        // The optimiser state written from the trainer's device and loaded back onto it.
        await using (var resumed = await TrainerHost.StartAsync(checkpoint, options, version: 2))
        {
            await resumed.TrainAsync(samples, 3);
            return new Run([.. steps], before, after, weights, File.ReadAllBytes(Path.Combine(checkpoint, TrainerHost.OptimizerFile)),
                resumed.Snapshot.ToArray());
        }
    }

    [Theory]
    [InlineData("cpu", true)]
    [InlineData("CPU", false)]
    public async Task An_explicit_cpu_device_trains_bit_for_bit_as_the_default(string device, bool pack)
    {
        using var model = new TempFolder("treepo-device-");
        Qwen2Checkpoint.WriteRandom(model, Qwen2Config.Tiny(), 21);
        var samples = Samples(5);
        // Three mini-batches: recomputed old log-probs, several optimiser steps, clipped ratios in the statistics.
        var options = new TrainerOptions { LearningRate = 3e-3, WarmupSteps = 1, MiniBatches = 3, MicroBatchTokens = 48, Pack = pack };
        Assert.Equal("cpu", options.Device);

        var byDefault = await Train(model, options, samples);
        var named = await Train(model, options with { Device = device }, samples);

        Assert.Equal(byDefault.Steps, named.Steps);
        Assert.Contains(named.Steps, s => s.ClipFraction > 0);
        Assert.Equal(byDefault.Before, named.Before);
        Assert.Equal(byDefault.After, named.After);
        Assert.NotEqual(named.Before, named.After);   // the steps did train
        Assert.Equal(byDefault.Weights, named.Weights);
        Assert.Equal(byDefault.Optimizer, named.Optimizer);
        Assert.Equal(byDefault.Resumed, named.Resumed);
    }

    [Fact]
    public async Task An_unknown_device_name_is_refused_naming_the_option()
    {
        var options = new TrainerOptions { Device = "gpu7" };
        Assert.Equal("Trainer:Device must be cpu, cuda or cuda:N (got 'gpu7')", Assert.Single(options.Validate()));
        using var model = new TempFolder("treepo-device-");
        Qwen2Checkpoint.WriteRandom(model, Qwen2Config.Tiny(), 22);
        var e = await Assert.ThrowsAsync<ArgumentException>(() => TrainerHost.StartAsync(model, options));
        Assert.Contains("Trainer:Device", e.Message);
        Assert.Contains("'gpu7'", e.Message);
    }

    [Fact]
    public async Task Cuda_this_process_lacks_is_refused_at_start_with_the_reason()
    {
        using var model = new TempFolder("treepo-device-");
        Qwen2Checkpoint.WriteRandom(model, Qwen2Config.Tiny(), 23);
        TorchRuntime.EnsureLoaded();
        // This project references TorchSharp's CPU build, so no CUDA; where a process has some, a device past its
        // last one is what it lacks.
        bool cuda = torch.cuda.is_available();
        string device = cuda ? $"cuda:{torch.cuda.device_count()}" : "cuda";
        var e = await Assert.ThrowsAsync<ArgumentException>(() => TrainerHost.StartAsync(model, new TrainerOptions { Device = device }));
        Assert.StartsWith($"Trainer:Device is '{device}', but ", e.Message);
        Assert.Contains(cuda ? "CUDA device" : "CUDA is not available in this process", e.Message);
    }
}
