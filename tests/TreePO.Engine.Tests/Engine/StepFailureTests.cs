using TreePO.Core.Protocol;
using TreePO.Engine.Model;
using static TreePO.Engine.Tests.Engine.EngineFixture;

namespace TreePO.Engine.Tests.Engine;

/// <summary>A step that throws costs one retry; one that throws again fails only the requests whose own work fails,
/// and the engine keeps serving.</summary>
public sealed class StepFailureTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    const int Poison = 297;

    static InferenceEngine StartWith(Action<IReadOnlyList<StepItem>> fault) => InferenceEngine.Load(new EngineOptions
    {
        ModelPath = TinyDir, KvBudgetBytes = 64L << 20, MaxSlots = 16, PrefillChunk = 256, Threads = 2, EosTokenIds = [],
        StepFault = fault,
    });

    /// <summary>Prompts without the poison token (the fault below keys on it).</summary>
    static int[] Prompt(int seed) => TestModels.RandomTokens(10, seed, vocab: Poison);

    [Fact]
    public async Task A_step_that_fails_once_is_run_again_with_the_same_samples()
    {
        var request = Request(Prompt(1), branches: 3, maxTokens: 8, seed: 5);
        await using var clean = Start(prefillChunk: 256);
        var expected = await clean.GenerateAsync(request).WaitAsync(Timeout);

        int calls = 0;
        await using var engine = StartWith(_ =>
        {
            if (Interlocked.Increment(ref calls) == 3) throw new InvalidOperationException("injected");
        });
        var actual = await engine.GenerateAsync(Again(request)).WaitAsync(Timeout);

        Assert.Equal(expected.Branches.Select(b => b.Tokens), actual.Branches.Select(b => b.Tokens));
        var stats = engine.GetStats();
        Assert.Equal(1, stats.StepsRetried);
        Assert.Equal(0, stats.StepsFailed);
        Assert.Equal(0, stats.RequestsFailed);
    }

    [Fact]
    public async Task A_step_that_fails_twice_fails_only_the_request_that_causes_it()
    {
        // Fails whenever a prefill chunk carries the poison token: only the request whose prompt holds it.
        await using var engine = StartWith(items =>
        {
            if (items.Any(i => i.Tokens.Length > 1 && i.Tokens.Contains(Poison))) throw new InvalidOperationException("injected: poison");
        });
        int[] bad = [.. Prompt(2)[..5], Poison, .. Prompt(2)[5..]];
        var tasks = new[] { Prompt(3), bad, Prompt(4) }
            .Select((p, i) => engine.GenerateAsync(Request(p, branches: 2, maxTokens: 6, seed: (ulong)i))).ToArray();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => tasks[1]).WaitAsync(Timeout);
        Assert.Contains("injected: poison", error.Message);
        var good = await Task.WhenAll(tasks[0], tasks[2]).WaitAsync(Timeout);
        Assert.All(good, r => Assert.All(r.Branches, b => Assert.Equal(6, b.Tokens.Length)));

        var later = await engine.GenerateAsync(Request(Prompt(5), branches: 2, maxTokens: 4)).WaitAsync(Timeout);
        Assert.All(later.Branches, b => Assert.Equal(4, b.Tokens.Length));
        var stats = engine.GetStats();
        Assert.True(stats.StepsFailed >= 1);
        Assert.Equal(1, stats.RequestsFailed);
    }

    [Fact]
    public async Task A_failure_no_single_request_causes_fails_the_step_and_the_engine_goes_on()
    {
        // Fails only when at least two sequences share a step: each alone succeeds, so no request is to blame.
        int armed = 1;
        await using var engine = StartWith(items =>
        {
            if (Volatile.Read(ref armed) == 1 && items.Count > 1) throw new InvalidOperationException("injected: batch");
        });
        var tasks = new[] { Prompt(6), Prompt(7) }.Select((p, i) => engine.GenerateAsync(Request(p, branches: 2, maxTokens: 4, seed: (ulong)i))).ToArray();
        foreach (var t in tasks)
        {
            var e = await Assert.ThrowsAsync<InvalidOperationException>(() => t).WaitAsync(Timeout);
            Assert.Contains("injected: batch", e.Message);
        }
        Volatile.Write(ref armed, 0);
        var later = await engine.GenerateAsync(Request(Prompt(8), branches: 2, maxTokens: 4)).WaitAsync(Timeout);
        Assert.All(later.Branches, b => Assert.Equal(4, b.Tokens.Length));
        Assert.Equal(2, engine.GetStats().RequestsFailed);
    }
}
