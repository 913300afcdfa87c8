using TreePO.Engine.Model;
using TreePO.Engine.Native;
using TreePO.Engine.Threading;
using static TorchSharp.torch;

namespace TreePO.Engine.Tests.Engine;

/// <summary>The engine's intra-op threads: chosen by model width unless set, and kept by each model thread whatever
/// other threads set afterwards (libtorch's count is process-wide until a thread has taken its own). Alone: another
/// class pinning a count at the same moment would change what a fresh thread here takes.</summary>
[Collection(nameof(TorchThreadsCollection))]
public sealed class EngineThreadsTests
{
    public EngineThreadsTests() => TorchRuntime.EnsureLoaded();

    /// <summary>Narrow models take one thread; wide ones every core but one where there are more than two (one is
    /// left to Orleans' scheduler), every core on one or two; a set count wins.</summary>
    [Theory]
    [InlineData(0, 128, 2, 1)]
    [InlineData(0, 128, 16, 1)]
    [InlineData(0, 256, 1, 1)]
    [InlineData(0, 256, 2, 2)]
    [InlineData(0, 256, 3, 2)]
    [InlineData(0, 896, 16, 15)]
    [InlineData(4, 896, 16, 4)]
    [InlineData(8, 128, 2, 8)]
    public void Automatic_threads_follow_the_model_width_and_the_cores(int configured, int hidden, int cores, int expected)
    {
        var config = Qwen2Config.Tiny() with { HiddenSize = hidden };
        Assert.Equal(expected, new EngineOptions { Threads = configured }.ThreadsFor(config, cores));
    }

    [Fact]
    public async Task A_model_thread_keeps_its_count_when_another_thread_sets_a_different_one()
    {
        using var one = new ModelThread("threads-a", torchThreads: 1);
        // Another model thread starting afterwards sets the process-wide count to 3.
        using var three = new ModelThread("threads-b", torchThreads: 3);
        await three.RunAsync(() => get_num_threads());
        Assert.Equal(1, await one.RunAsync(() => get_num_threads()));
        Assert.Equal(3, await three.RunAsync(() => get_num_threads()));
    }

    [Fact]
    public async Task A_thread_that_is_not_a_model_thread_runs_libtorch_on_one_thread()
    {
        // Pinning three intra-op threads sets libtorch's process-wide count, which a fresh thread copies at its first
        // parallel op: without the reset, a thread-pool thread that loads a model would lead a team of three, and a
        // process with more team threads than cores makes every team's barriers sleep (TorchRuntime.SingleThreadDefault).
        using var three = new ModelThread("threads-c", torchThreads: 3);
        int elsewhere = 0;
        var fresh = new Thread(() => elsewhere = get_num_threads());
        fresh.Start();
        fresh.Join();
        Assert.Equal(1, elsewhere);
        Assert.Equal(3, await three.RunAsync(() => get_num_threads()));
    }
}

[CollectionDefinition(nameof(TorchThreadsCollection), DisableParallelization = true)]
public sealed class TorchThreadsCollection;
