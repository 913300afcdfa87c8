using System.Text.Json;
using CsCheck;
using TreePO.Core.Advantage;
using TreePO.Core.Reward;
using TreePO.Core.Trees;
using static TreePO.Core.Tests.Trees.Trees;

namespace TreePO.Core.Tests.Trees;

/// <summary>Invariants over random configurations and random scripted models.</summary>
public sealed class TreePropertyTests
{
    sealed record Case(TreeConfig Config, double PEos, double PBoxed, double PRepeat, ulong Seed)
    {
        public override string ToString() => $"{JsonSerializer.Serialize(Config, TreeJson.Options)} pEos={PEos:F2} pBoxed={PBoxed:F2} pRepeat={PRepeat:F2} seed={Seed}";
    }

    static readonly Gen<TreeConfig> Configs =
        Gen.Select(Gen.Int[1, 10], Gen.Int[1, 4], Gen.Int[1, 5], Gen.Int[1, 6], Gen.Int[-1, 10], Gen.Int[-1, 30], Gen.Int[0, 5], Gen.Int[-1, 3])
        .Select(Gen.Int[0, 1023], (t, flags) =>
        {
            var (w, b, d, l, initMax, maxResponse, candidates, window) = t;
            return new TreeConfig
            {
                Width = w, Branch = b, Depth = d, SegmentLength = l,
                InitDivergenceMax = initMax == 0 ? -1 : initMax,
                InitDivergenceMin = (flags & 1) == 1 && initMax > 1 ? 1 : -1,
                MaxResponseTokens = maxResponse == 0 ? -1 : maxResponse,
                FallbackCandidates = (FallbackCandidatePolicy)candidates,
                MaxFallbackWindow = window == 0 ? -1 : window,
                Fallback = (flags & 2) == 2 ? FallbackPolicy.None : FallbackPolicy.Random,
                Mode = (flags & 12) == 12 ? SamplingMode.Sequential : SamplingMode.Tree,
                Branching = (flags & 16) == 16 ? BranchingPolicy.LogProb : BranchingPolicy.EvenSplit,
                LogProbDirection = (flags & 32) == 32 ? LogProbDirection.HighProbEncouraged : LogProbDirection.LowProbEncouraged,
                BoxedStop = (flags & 64) == 64 ? BoxedStopPolicy.BoxedAsEos : BoxedStopPolicy.BoxedAndEosFirst,
                Repetition = (flags & 128) == 128 ? RepetitionPriority.MostPrioritized : RepetitionPriority.LeastPrioritized,
                RepetitionWindow = 3,
                RepetitionCount = 3,
            };
        });

    static readonly Gen<Case> Cases = Gen.Select(Configs, Gen.Double[0, 0.6], Gen.Double[0, 0.3], Gen.Double[0, 0.3], Gen.ULong)
        .Select((c, e, bx, r, s) => new Case(c, e, bx, r, s));

    static Func<Call, Seg> Script(Case c) => call =>
    {
        var rng = new SeededRandom(call.BranchSeed);
        float lp = -(float)rng.NextDouble() * 3;
        double u = rng.NextDouble();
        if (u < c.PEos) return rng.NextDouble() < 0.5 ? new Seg("", Eos: true, LogProb: lp) : new Seg("ab\u0000cd", LogProb: lp);
        u -= c.PEos;
        if (u < c.PBoxed) return new Seg("\\boxed{2}", Eos: rng.NextDouble() < 0.5, LogProb: lp);
        u -= c.PBoxed;
        if (u < c.PRepeat) return new Seg("xxxxxxxx", LogProb: lp);
        return new Seg("", LogProb: lp, EosId: 1);
    };

    [Fact]
    public Task Trees_keep_every_invariant_and_resume_to_the_same_tree() =>
        Cases.SampleAsync(async c =>
        {
            var gen = new ScriptedGenerator(Prompt, Script(c));
            var sampler = new TreeSampler(c.Config, gen, CharDecoder.Instance, CharDecoder.Eos);
            var snapshots = new List<string>();
            SegmentTree tree = await sampler.RunAsync(Query(), "b/q", c.Seed, 3, null,
                (snap, _) => { snapshots.Add(JsonSerializer.Serialize(snap, TreeJson.Options)); return Task.CompletedTask; });
            TreeConfig cfg = c.Config;
            Assert.Empty(gen.Errors);

            // Never more than w trajectories; exactly w whenever fallback (or the sequential fork) can fill them.
            Assert.InRange(tree.Trajectories.Count, 1, cfg.Width);
            if (cfg.Fallback == FallbackPolicy.Random || cfg.Mode == SamplingMode.Sequential) Assert.Equal(cfg.Width, tree.Trajectories.Count);
            // No path deeper than d, none longer than the budget; leaves are exactly the stopped nodes.
            Assert.All(tree.Trajectories, t => Assert.InRange(t.Depth, 1, cfg.Depth));
            Assert.All(tree.Trajectories, t => Assert.InRange(t.ResponseLength, 1, cfg.ResponseBudget));
            Assert.Equal(tree.Nodes.Where(n => n.IsLeaf).Select(n => n.Id).Order(), tree.Trajectories.Select(t => t.Leaf).Order());
            // Every non-leaf node on a path is a full segment of l tokens.
            var parents = tree.Nodes.Where(n => n.ParentId is not null).Select(n => n.ParentId!).ToHashSet();
            Assert.All(tree.Nodes.Where(n => !n.IsRoot && parents.Contains(n.Id)), n => Assert.Equal(cfg.SegmentLength, n.Tokens.Length));
            Assert.All(tree.Nodes.Where(n => !n.IsRoot && !parents.Contains(n.Id)), n => Assert.True(n.IsLeaf));
            // Fallback branches start at segment boundaries on their donor's path.
            foreach (TreeNode n in tree.Nodes.Where(n => n.FallbackFrom is not null))
            {
                TreeNode parent = tree.Node(n.ParentId!);
                Assert.Equal(parent.Depth * cfg.SegmentLength, parent.ResponseLength);
                if (n.FallbackFrom == tree.Root.Id) Assert.True(parent.IsRoot);
                else Assert.Contains(parent.Id, tree.Trajectories.Single(t => t.Leaf == n.FallbackFrom).Path.SkipLast(1));
            }
            if (cfg.Mode == SamplingMode.Sequential || cfg.Fallback == FallbackPolicy.None)
                Assert.DoesNotContain(tree.Nodes, n => n.FallbackFrom is not null);
            // Every node released exactly once.
            Assert.Equal(tree.Nodes.Select(n => n.Id).Order(), gen.ReleaseCounts.Keys.Order());
            Assert.All(gen.ReleaseCounts.Values, v => Assert.Equal(1, v));

            // Scoring, advantages, export round trip.
            tree.Score(MathReward.PlusMinusOne);
            TreeAdvantage.Compute([tree]);
            if (cfg.Mode == SamplingMode.Sequential && cfg.Width > 1) Assert.True(Math.Abs(tree.Trajectories.Sum(t => t.RawAdvantage)) < 1e-9);
            string line = TreeJson.Write(tree);
            Assert.Equal(line, TreeJson.Write(TreeJson.Read(line)));

            // Resume from a snapshot (through JSON) gives the same tree.
            if (snapshots.Count > 1)
            {
                var snap = JsonSerializer.Deserialize<TreeSnapshot>(snapshots[(int)(c.Seed % (ulong)(snapshots.Count - 1))], TreeJson.Options)!;
                var gen2 = new ScriptedGenerator(Prompt, Script(c));
                gen2.Preload(snap);
                var resumed = await new TreeSampler(cfg, gen2, CharDecoder.Instance, CharDecoder.Eos)
                    .RunAsync(Query(), "b/q", c.Seed, 3, snap, null);
                Assert.Empty(gen2.Errors);
                resumed.Score(MathReward.PlusMinusOne);
                TreeAdvantage.Compute([resumed]);
                Assert.Equal(line, TreeJson.Write(resumed));
                Assert.Equal(tree.Nodes.Select(n => n.Id).Order(), gen2.ReleaseCounts.Keys.Order());
            }
        }, iter: 300, threads: 1, seed: TreePO.Core.Tests.Advantage.TreeAdvantageTests.PinnedSeed);
}
