using Microsoft.Extensions.Configuration;
using TreePO.Core.Protocol;
using TreePO.Hosting.Engines.Simulation;
using TreePO.Hosting.Options;

namespace TreePO.Grains.Tests.Simulation;

/// <summary>The simulated engine's timing model, batching and determinism, driven step by step on a fake clock.</summary>
public sealed class SimulatedEngineTests
{
    /// <summary>A clock whose steps take no real time: it adds up the time it was asked to wait.</summary>
    sealed class FakeClock : ISimulationClock
    {
        public TimeSpan Now { get; private set; }
        public Task Delay(TimeSpan duration, CancellationToken cancellationToken) { Now += duration; return Task.CompletedTask; }
    }

    /// <summary>One id a word (split on spaces and after braces), so an answer's sentence is "The answer is \boxed{N}."
    /// = 5 tokens and lengths are easy to count.</summary>
    static int[] Encode(string text, Dictionary<string, int> vocab) =>
        [.. text.Replace("{", "{ ").Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(w => vocab.TryGetValue(w, out int id) ? id : vocab[w] = vocab.Count + 1)];

    const int Eos = 0;
    static readonly SimulationCostModel Cost = new(StepMs: 2, TokenMs: 0.5, ContextTokenMs: 0.01);

    static SimulatedScript Script(double mean, double sd = 0, int min = 1)
    {
        var vocab = new Dictionary<string, int>();
        return new SimulatedScript(s => Encode(s, vocab), Eos, new EngineSimulationOptions { ResponseMean = mean, ResponseStdDev = sd, ResponseMin = min });
    }

    static SimulatedEngine Engine(SimulatedScript script, FakeClock clock, int slots = 64) =>
        new(new SimulatedEngineSettings(Cost, slots, 1 << 30, 16, PrefillChunk: 4, MaxSequenceLength: 4096), script, clock, autoRun: false);

    static SegmentRequest Request(string tree, int[] context, int branches, int maxTokens, ulong seed = 7, string parent = "root") =>
        new(tree, parent, context.Length, context, [.. Enumerable.Range(0, branches).Select(i => $"{tree}/{parent}/{i}")], maxTokens, SamplingParams.Default, seed);

    static async Task RunUntil(SimulatedEngine engine, params Task[] tasks)
    {
        for (int i = 0; i < 10_000 && !tasks.All(t => t.IsCompleted); i++) await engine.StepAsync();
        await Task.WhenAll(tasks);
    }

    [Fact]
    public async Task A_request_costs_its_prefill_chunks_then_one_step_per_token_as_the_cost_model_says()
    {
        var clock = new FakeClock();
        await using var engine = Engine(Script(mean: 10), clock);
        int[] context = [1, 2, 3, 4, 5, 6];   // no assistant marker: the answer starts at this request
        var result = await Task.Run(async () =>
        {
            var task = engine.GenerateAsync(Request("t", context, branches: 2, maxTokens: 16));
            await RunUntil(engine, task);
            return await task;
        });

        // The end is drawn at response position 10 and its 5-token sentence plus EOS fits: 16 tokens would not be
        // reached, 10 filler + 5 + EOS = 16 is the segment exactly.
        Assert.All(result.Branches, b => Assert.Equal(SegmentFinish.Eos, b.Finish));
        Assert.All(result.Branches, b => Assert.Equal(16, b.Tokens.Length));
        Assert.All(result.Branches, b => Assert.Equal(Eos, b.Tokens[^1]));
        Assert.Equal(6, result.PrefillTokens);
        Assert.Equal(32, result.DecodeTokens);

        // Prefill: chunks of 4 then 2 tokens (one sequence each), then 16 decode steps of 2 sequences.
        double expected = (2 + 0.5 * 4 + 0.01 * 4) + (2 + 0.5 * 2 + 0.01 * 6)
            + Enumerable.Range(0, 16).Sum(e => 2 + 0.5 * 2 + 0.01 * 2 * (6 + e));
        Assert.Equal(expected, clock.Now.TotalMilliseconds, 3);   // TimeSpan keeps 100 ns ticks
        Assert.Equal(clock.Now, engine.BusyTime);
        var c = engine.GetCounters();
        Assert.Equal(18, c.Steps);
        Assert.Equal(2, c.MaxBatchSize);
        Assert.Equal(2, c.CachedNodes);   // both branches' KV kept for their continuation
    }

    [Fact]
    public async Task Requests_batch_together_wait_for_free_slots_and_reuse_the_kv_they_continue()
    {
        var clock = new FakeClock();
        await using var engine = Engine(Script(mean: 3), clock, slots: 4);
        int[] context = [1, 2, 3, 4];
        await Task.Run(async () =>
        {
            var a = engine.GenerateAsync(Request("a", context, 2, 8));
            var b = engine.GenerateAsync(Request("b", context, 2, 8, seed: 8));
            var c = engine.GenerateAsync(Request("c", context, 2, 8, seed: 9));   // no slots left: waits
            await engine.StepAsync();
            Assert.Equal(4, engine.GetCounters().LiveSlots);
            Assert.Equal(1, engine.GetCounters().QueueDepth);
            await RunUntil(engine, a, b, c);
            Assert.Equal(4, engine.GetCounters().MaxBatchSize);   // a and b shared steps; c never joined them

            // c's admission evicted the oldest cached nodes (a's); a continuation of b's first branch still finds its
            // KV and prefills nothing.
            var first = (await b).Branches[0];
            int[] longer = [.. context, .. first.Tokens];
            var next = engine.GenerateAsync(Request("b", longer, 1, 8, seed: 10, parent: first.NodeId));
            await RunUntil(engine, next);
            Assert.Equal(longer.Length, (await next).ReusedTokens);
            Assert.Equal(0, (await next).PrefillTokens);
        });
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_answers_and_another_seed_others()
    {
        async Task<int[][]> Run(ulong seed)
        {
            await using var engine = Engine(Script(mean: 20, sd: 6, min: 4), new FakeClock());
            return await Task.Run(async () =>
            {
                var t = engine.GenerateAsync(Request("t", [1, 2, 3], 8, 40, seed));
                await RunUntil(engine, t);
                return (await t).Branches.Select(b => b.Tokens).ToArray();
            });
        }
        var one = await Run(11);
        var again = await Run(11);
        var other = await Run(12);
        Assert.Equal(one, again);
        Assert.NotEqual(one, other);
        Assert.True(one.Select(t => t.Length).Distinct().Count() > 1, "branches of one request end at different lengths");
    }

    [Fact]
    public void Answer_lengths_follow_the_configured_distribution()
    {
        var script = Script(mean: 27, sd: 8, min: 6);
        var lengths = Enumerable.Range(0, 2000).Select(i => script.Branch("n", (ulong)i, 0, 0, 200)).Select(b => b.Tokens.Length).ToList();
        // The end is drawn at the mean; its sentence and EOS (6 tokens) follow it.
        Assert.InRange(lengths.Average(), 27 + 6 - 1.5, 27 + 6 + 1.5);
        Assert.InRange(Math.Sqrt(lengths.Select(l => Math.Pow(l - lengths.Average(), 2)).Average()), 6.5, 9.5);
        Assert.True(lengths.Min() >= 6 + 6);
    }

    [Fact]
    public void A_mistyped_simulation_key_and_a_bad_value_are_refused_by_name()
    {
        static void Bind(string key, string value) => TreePOConfiguration.Bind(new ConfigurationBuilder()
            .AddInMemoryCollection([new($"TreePO:{key}", value)]).Build());
        var typo = Assert.Throws<TreePOOptionsException>(() => Bind("Engine:Simulation:StepMss", "3"));
        Assert.Contains("Engine:Simulation:StepMss", typo.Message);
        Assert.Contains("StepMs", typo.Message);
        var bad = Assert.Throws<TreePOOptionsException>(() => Bind("Engine:Simulation:TokenMs", "-1"));
        Assert.Contains("Engine:Simulation:TokenMs", bad.Message);
        Bind("Engine:Simulated", "true");
    }
}
