using TreePO.Hosting.Engines;

namespace TreePO.Grains.Tests.Hosting;

/// <summary>Engine:Threads = 0 leaves one core to Orleans' scheduler where there are more than two; a set value wins.</summary>
public sealed class EngineThreadsTests
{
    [Theory]
    [InlineData(0, 1, 1)]
    [InlineData(0, 2, 2)]
    [InlineData(0, 3, 2)]
    [InlineData(0, 16, 15)]
    [InlineData(4, 16, 4)]
    [InlineData(8, 2, 8)]
    public void Automatic_threads_leave_a_core_to_the_scheduler_on_machines_with_more_than_two(int configured, int cores, int expected) =>
        Assert.Equal(expected, EngineThreads.For(configured, cores));
}
