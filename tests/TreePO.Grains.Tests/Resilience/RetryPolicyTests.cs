using TreePO.Grains.Resilience;

namespace TreePO.Grains.Tests.Resilience;

/// <summary>The retry policy: how many tries, which waits (on a clock that skips them), what is retried.</summary>
public sealed class RetryPolicyTests
{
    [Fact]
    public async Task A_tree_ask_tries_eight_times_with_doubling_waits_up_to_8_s()
    {
        var time = new SkippingTime();
        int calls = 0;
        await Assert.ThrowsAsync<TimeoutException>(() => (RetryPolicy.TreeAsk with { Time = time })
            .RunAsync<int>(_ => { calls++; throw new TimeoutException("no answer"); }));
        Assert.Equal(8, calls);
        Assert.Equal(Seconds(0.5, 1, 2, 4, 8, 8, 8), time.Delays);
    }

    [Fact]
    public async Task A_run_poll_waits_one_second_more_each_time_up_to_5_s()
    {
        var time = new SkippingTime();
        int calls = 0;
        await Assert.ThrowsAsync<OrleansException>(() => (RetryPolicy.RunPoll with { Time = time })
            .RunAsync<int>(_ => { calls++; throw new OrleansException("silo gone"); }));
        Assert.Equal(24, calls);
        Assert.Equal(Seconds([1, 2, 3, 4, .. Enumerable.Repeat(5.0, 19)]), time.Delays);
    }

    [Fact]
    public async Task A_failure_of_the_callee_is_not_retried()
    {
        var time = new SkippingTime();
        int calls = 0;
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => (RetryPolicy.TreeAsk with { Time = time })
            .RunAsync<int>(_ => { calls++; throw new InvalidOperationException("bad tree config"); }));
        Assert.Equal("bad tree config", e.Message);
        Assert.Equal(1, calls);
        Assert.Empty(time.Delays);
    }

    [Fact]
    public async Task Failures_then_an_answer_give_the_answer_and_each_failure_is_heard()
    {
        var time = new SkippingTime();
        var heard = new List<(string, int)>();
        int calls = 0;
        int answer = await (RetryPolicy.TreeAsk with { Time = time }).RunAsync(_ => ++calls < 3
            ? Task.FromException<int>(new OrleansException($"lost {calls}")) : Task.FromResult(42), (e, failures) => heard.Add((e.Message, failures)));
        Assert.Equal(42, answer);
        Assert.Equal([("lost 1", 1), ("lost 2", 2)], heard);
        Assert.Equal(Seconds(0.5, 1), time.Delays);
    }

    [Fact]
    public async Task A_call_canceled_by_the_runtime_not_the_caller_is_retried()
    {
        // Orleans' client gives up a connection to a dead gateway with OperationCanceledException: a lost call.
        var time = new SkippingTime();
        int calls = 0;
        int answer = await (RetryPolicy.TreeAsk with { Time = time }).RunAsync(_ => ++calls < 2
            ? Task.FromException<int>(new OperationCanceledException("The operation was canceled.")) : Task.FromResult(7));
        Assert.Equal((7, 2), (answer, calls));
    }

    [Fact]
    public async Task A_failure_after_cancellation_is_not_retried()
    {
        using var cts = new CancellationTokenSource();
        int calls = 0;
        await Assert.ThrowsAnyAsync<Exception>(() => (RetryPolicy.TreeAsk with { Time = new SkippingTime() }).RunAsync<int>(_ =>
        {
            calls++;
            cts.Cancel();
            throw new TimeoutException("no answer");
        }, cancellationToken: cts.Token));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task A_narrowed_policy_retries_only_what_it_names()
    {
        var time = new SkippingTime();
        int calls = 0;
        var onlyIo = RetryPolicy.FailingEngine with { Time = time, RetryOn = e => e is IOException };
        await Assert.ThrowsAsync<IOException>(() => onlyIo.RunAsync<int>(_ => { calls++; throw new IOException("stream broke"); }));
        Assert.Equal(3, calls);
        Assert.Equal(Seconds(0.5, 1), time.Delays);
    }

    [Fact]
    public async Task Waiting_for_an_engine_looks_every_100_ms_until_the_deadline()
    {
        var time = new SkippingTime();
        var wait = RetryPolicy.EngineWait with { Time = time };
        int calls = 0;
        string? none = await wait.UntilAsync<string>(_ => { calls++; return Task.FromResult<string?>(null); }, time.GetUtcNow() + TimeSpan.FromSeconds(1));
        Assert.Null(none);
        Assert.Equal(11, calls);   // at 0, 0.1, ..., 1.0 s
        Assert.All(time.Delays, d => Assert.Equal(TimeSpan.FromMilliseconds(100), d));

        calls = 0;
        string? found = await wait.UntilAsync(_ => Task.FromResult(++calls == 3 ? "engine-1" : null), time.GetUtcNow() + TimeSpan.FromSeconds(1));
        Assert.Equal(("engine-1", 3), (found, calls));

        calls = 0;
        Assert.Null(await wait.UntilAsync<string>(_ => { calls++; return Task.FromResult<string?>(null); }, time.GetUtcNow()));
        Assert.Equal(1, calls);   // a zero wait looks once
    }

    static List<TimeSpan> Seconds(params double[] s) => [.. s.Select(TimeSpan.FromSeconds)];

    /// <summary>A clock whose timers fire at once, moving the clock by their due time; it keeps the waits asked.</summary>
    sealed class SkippingTime : TimeProvider
    {
        readonly Lock gate = new();
        DateTimeOffset now = new(2026, 12, 4, 0, 0, 0, TimeSpan.Zero);

        public List<TimeSpan> Delays { get; } = [];

        public override DateTimeOffset GetUtcNow()
        {
            lock (gate) return now;
        }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            lock (gate)
            {
                Delays.Add(dueTime);
                now += dueTime;
            }
            ThreadPool.QueueUserWorkItem(_ => callback(state));
            return new Fired();
        }

        sealed class Fired : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => false;
            public void Dispose() { }
            public ValueTask DisposeAsync() => default;
        }
    }
}
