using System.Diagnostics;
using TreePO.Core.Protocol;
using TreePO.Core.Reward;
using TreePO.Core.Trees;
using TreePO.Engine;

namespace TreePO.Bench.Common;

/// <summary>
/// Runs one mode of a workload once, on a fresh engine (so its counters are this run's), every query issued at once
/// so that all their segment requests batch together, and measures it.
/// </summary>
public static class SamplingRunner
{
    public static async Task<RunRecord> RunAsync(SamplingWorkload w, RunMode mode, int repetition, IReadOnlyList<QueryItem>? queries = null)
    {
        queries ??= w.Queries;
        ProcessMemory.Settle();
        await using var engine = InferenceEngine.Load(w.EngineOptions);
        var counting = new CountingGenerator(engine);
        var sampler = new TreeSampler(w.TreeConfig(mode), counting, w.Model.Tokenizer, w.Model.StopIds);
        int samplesPerTree = mode == RunMode.NoSharing ? w.Width : 1;

        // The clock counts the rollout, not the engine's start-up (loading above, the warm-up step here).
        await engine.WhenReadyAsync();
        JitActivity jit = JitActivity.Now();
        var clock = Stopwatch.StartNew();
        var tasks = new List<Task<SegmentTree>>();
        foreach (QueryItem q in queries)
        {
            // The same seed for tree and sequential in one repetition: the modes differ only in how they sample.
            ulong seed = SeedMix.Derive(w.Seed, "sampling", repetition, q.Id);
            for (int j = 0; j < samplesPerTree; j++)
            {
                string id = samplesPerTree == 1 ? $"{mode.Wire()}-{repetition}/{q.Id}" : $"{mode.Wire()}-{repetition}/{q.Id}/{j}";
                tasks.Add(sampler.RunAsync(q, id, samplesPerTree == 1 ? seed : SeedMix.Derive(seed, j), policyVersion: -1));
            }
        }
        SegmentTree[] trees = await Task.WhenAll(tasks);
        double wall = clock.Elapsed.TotalSeconds;
        JitActivity during = JitActivity.Now().Since(jit);
        EngineCounters stats = engine.GetStats();
        long peak = ProcessMemory.PeakRssBytes();

        foreach (SegmentTree t in trees) t.Score(MathReward.OneZero, w.Model.Tokenizer);
        var m = BatchMetrics.Of(trees);
        return new RunRecord(mode.Wire(), repetition, m.Trajectories, wall, m.GeneratedTokens, stats.PrefillTokens,
            stats.DecodeTokens, stats.ReusedTokens, stats.RecomputedTokens, m.UniqueTokens, queries.Sum(q => (long)q.PromptTokens.Length), counting.Calls, counting.PaperTokens, peak,
            stats.ForkCopies, stats.Steps, stats.MeanBatchSize, stats.Evictions, m.Correct, m.FinishCounts, stats.StepTimes, during);
    }
}
