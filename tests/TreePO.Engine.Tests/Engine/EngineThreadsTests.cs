using TreePO.Engine.Model;
using TreePO.Engine.Native;
using TreePO.Engine.Threading;
using static TorchSharp.torch;

namespace TreePO.Engine.Tests.Engine;

/// <summary>The engine's intra-op threads: chosen by model width unless set, and kept by each model thread whatever
/// other threads set afterwards (libtorch's count is process-wide until a thread has taken its own).</summary>
public sealed class EngineThreadsTests
{
    public EngineThreadsTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Automatic_threads_follow_the_model_width_and_an_explicit_count_wins()
    {
        var narrow = Qwen2Config.Tiny() with { HiddenSize = 128 };
        var wide = Qwen2Config.Tiny() with { HiddenSize = EngineOptions.ParallelHiddenSize };
        Assert.Equal(1, new EngineOptions().ThreadsFor(narrow));
        Assert.Equal(Environment.ProcessorCount, new EngineOptions().ThreadsFor(wide));
        Assert.Equal(3, new EngineOptions { Threads = 3 }.ThreadsFor(narrow));
        Assert.Equal(3, new EngineOptions { Threads = 3 }.ThreadsFor(wide));
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
}
