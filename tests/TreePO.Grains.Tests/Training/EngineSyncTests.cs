using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Runtime;
using TreePO.Grains.Routing;
using TreePO.Grains.Training;
using TreePO.Grains.Resilience;

namespace TreePO.Grains.Tests.Training;

/// <summary>One engine's failing sync does not fail the run's sync; only no engine at all does.</summary>
public sealed class EngineSyncTests
{
    static readonly RetryPolicy Quick = RetryPolicy.TreeAsk with { Delay = TimeSpan.FromMilliseconds(5) };
    static readonly EngineAddress A = new(SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 2001), 1), 0);
    static readonly EngineAddress B = new(SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 2002), 1), 0);

    [Fact]
    public async Task An_engine_that_keeps_failing_is_left_behind_and_the_others_sync()
    {
        int attemptsOnB = 0;
        int synced = await EngineSync.SyncAllAsync([A, B], e =>
        {
            if (e == A) return Task.FromResult(3);
            Interlocked.Increment(ref attemptsOnB);
            return Task.FromException<int>(new IOException("the weight stream broke and so did the chunks"));
        }, _ => true, "run version 3", 3, NullLogger.Instance, Quick, CancellationToken.None);
        Assert.Equal(1, synced);
        Assert.Equal(EngineSync.FailingEngineAttempts, attemptsOnB);
    }

    [Fact]
    public async Task A_failure_that_passes_is_retried_and_the_engine_syncs()
    {
        int calls = 0;
        int synced = await EngineSync.SyncAllAsync([A], _ => ++calls == 1
            ? Task.FromException<int>(new InvalidOperationException("the trainer moved on")) : Task.FromResult(2),
            _ => true, "run version 2", 2, NullLogger.Instance, Quick, CancellationToken.None);
        Assert.Equal((1, 2), (synced, calls));
    }

    [Fact]
    public async Task When_no_engine_can_sync_the_sync_fails_naming_each()
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => EngineSync.SyncAllAsync([A, B],
            x => Task.FromException<int>(new IOException($"broken {x.Key}")), _ => true, "run version 1", 1, NullLogger.Instance, Quick, CancellationToken.None));
        Assert.Contains("no engine could sync to run version 1", e.Message);
        Assert.Contains($"broken {A.Key}", e.Message);
        Assert.Contains($"broken {B.Key}", e.Message);
    }

    [Fact]
    public async Task An_engine_whose_silo_left_is_dropped_without_failing()
    {
        int synced = await EngineSync.SyncAllAsync([A, B], e => e == A ? Task.FromResult(1) : Task.FromException<int>(new TimeoutException("gone")),
            s => s.Equals(A.Silo), "run version 1", 1, NullLogger.Instance, Quick, CancellationToken.None);
        Assert.Equal(1, synced);
    }
}
