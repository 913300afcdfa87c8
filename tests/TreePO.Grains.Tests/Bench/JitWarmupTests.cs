using TreePO.Bench.Common;

namespace TreePO.Grains.Tests.Bench;

/// <summary>
/// The benchmarks' warm-up runs pairs until two in a row spend at most 1 % (or a share the caller gives) of their
/// wall time in the JIT, at least
/// `--warmup` pairs and at most `--warmup-max`, and says when it stopped unsettled. The pairs here are given, not run.
/// </summary>
public sealed class JitWarmupTests
{
    static Func<int, Task<(JitActivity, double)>> Pairs(params double[] jitMs) =>
        n => Task.FromResult((new JitActivity(jitMs[n - 1] > 0 ? 10 : 0, jitMs[n - 1]), 0.4));

    [Fact]
    public async Task Warm_up_runs_until_two_quiet_pairs_in_a_row()
    {
        // 4 ms of a 400 ms pair is 1 %: quiet. One quiet pair between two busy ones does not end it.
        var r = await JitWarmup.RunAsync(Pairs(120, 3, 60, 4, 0, 90), least: 1, most: 40);
        Assert.Equal((5, true), (r.Pairs, r.Settled));
        Assert.Contains("JIT settled", r.Describe());
    }

    [Fact]
    public async Task Warm_up_runs_at_least_the_pairs_asked_for()
    {
        var r = await JitWarmup.RunAsync(Pairs(0, 0, 0, 0, 0), least: 4, most: 40);
        Assert.Equal((4, true), (r.Pairs, r.Settled));
    }

    [Fact]
    public async Task Warm_up_that_never_settles_stops_at_the_limit_and_says_so()
    {
        var r = await JitWarmup.RunAsync(Pairs(50, 50, 50), least: 1, most: 3);
        Assert.Equal((3, false), (r.Pairs, r.Settled));
        Assert.Contains("NOT settled", r.Describe());

        var none = await JitWarmup.RunAsync(Pairs(), least: 0, most: 40);
        Assert.Equal((0, false), (none.Pairs, none.Settled));
        Assert.Contains("warm-up: none", none.Describe());
    }

    [Fact]
    public async Task A_caller_may_count_a_pair_quiet_under_a_larger_share_and_is_told_each_pair()
    {
        // 12 ms of a 400 ms pair is 3 %: busy at the default 1 %, quiet at `bench training`'s 5 %.
        var strict = await JitWarmup.RunAsync(Pairs(120, 12, 12, 12), least: 1, most: 4);
        Assert.False(strict.Settled);
        var told = new List<(int, double)>();
        var loose = await JitWarmup.RunAsync(Pairs(120, 12, 12, 12), least: 1, most: 4, share: 0.05,
            onPair: (n, jit, _) => told.Add((n, jit.Milliseconds)));
        Assert.Equal((3, true, 0.05), (loose.Pairs, loose.Settled, loose.Share));
        Assert.Equal([(1, 120.0), (2, 12.0), (3, 12.0)], told);
    }
}
