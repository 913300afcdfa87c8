using TreePO.Core.Protocol;
using TreePO.Core.Trees;
using TreePO.Engine.Checkpoint;
using TreePO.Engine.Training;
using static TreePO.Engine.Tests.Engine.EngineFixture;

namespace TreePO.Engine.Tests.Training;

/// <summary>The trainer uses the engine's log-probs as the old policy's (no second forward): they must be the
/// trainer's own forward's under the same weights, on real sampled trees (tempered, top-p sampling; early EOS, so
/// partial segments and fallback branches).</summary>
public sealed class EngineOldLogProbsTests(ITestOutputHelper output)
{
    sealed class NoText : ITextDecoder
    {
        public string Decode(IReadOnlyList<int> tokens) => "";
    }

    [Fact]
    public async Task Engine_log_probs_match_the_trainers_packed_and_unpacked_forward()
    {
        int[] eos = Enumerable.Range(0, 298).Where(t => t % 4 == 0).ToArray();   // early stops: partial paths, fallback
        var config = new TreeConfig
        {
            Width = 6, Depth = 4, SegmentLength = 5, Branch = 2, Sampling = new SamplingParams(1.3f, 0.95f, 0),
        };
        var queries = Enumerable.Range(0, 6).Select(i => new QueryItem($"q{i}", "", "", TestModels.RandomTokens(4 + i, 900 + i))).ToList();
        List<SegmentTree> trees;
        await using (var engine = Start(slots: 32, eos: eos))
        {
            var sampler = new TreeSampler(config, engine, new NoText(), eos.ToHashSet());
            trees = [.. await Task.WhenAll(queries.Select(q => sampler.RunAsync(q, $"t-{q.Id}", seed: 11, policyVersion: -1)))];
        }
        foreach (var t in trees) for (int i = 0; i < t.Trajectories.Count; i++) t.Trajectories[i].Reward = i % 2;
        Assert.Contains(trees, t => t.Nodes.Any(n => n.FallbackFrom is not null));
        int version = trees[0].Nodes[1].PolicyVersion;
        var samples = TrajectorySamples.Build(trees, version, TrajectorySamples.AdvantageFor("treepo"), out _);
        Assert.All(samples, s => Assert.NotNull(s.OldLogProbs));

        using var model = Qwen2Checkpoint.Load(TinyDir);
        using var trainer = new PolicyTrainer(model, ids => TrainerHost.NextTokenLogProbs(model, ids), new TrainerOptions(),
            (ids, positions, mask, rows, targets) => model.TokenLogProbs(ids, positions, mask, rows, targets));
        var packed = trainer.ResponseLogProbs(samples, packed: true);
        var unpacked = trainer.ResponseLogProbs(samples, packed: false);
        double engineDiff = 0, packDiff = 0;
        for (int i = 0; i < samples.Count; i++)
            for (int k = 0; k < samples[i].Response.Length; k++)
            {
                engineDiff = Math.Max(engineDiff, Math.Abs(samples[i].OldLogProbs![k] - unpacked[i][k]));
                packDiff = Math.Max(packDiff, Math.Abs(packed[i][k] - unpacked[i][k]));
            }
        output.WriteLine($"{samples.Count} trajectories: max |engine - trainer| = {engineDiff:E2}, max |packed - unpacked| = {packDiff:E2}");
        Assert.True(engineDiff <= 1e-4, $"max |engine - trainer| log-prob = {engineDiff}");
        Assert.True(packDiff <= 1e-5, $"max |packed - unpacked| log-prob = {packDiff}");
    }
}
