using TorchSharp;
using TreePO.Core.Protocol;
using TreePO.Core.Trees;
using TreePO.Engine.Model;
using TreePO.Engine.Native;
using TreePO.Engine.Training;
using static TorchSharp.torch;

namespace TreePO.Engine.Tests.Training;

/// <summary>The tree-packed update computes what the unpacked one does: the same log-probs, loss, statistics and
/// gradients, on random trees (random widths and depths, partial last segments, fallback branches, masked tokens),
/// with fewer tokens.</summary>
public sealed class PackedUpdateTests
{
    readonly ITestOutputHelper output;

    public PackedUpdateTests(ITestOutputHelper output)
    {
        TorchRuntime.EnsureLoaded();
        this.output = output;
    }

    static PolicyTrainer Trainer(Qwen2Model model, TrainerOptions options) =>
        new(model, ids => TrainerHost.NextTokenLogProbs(model, ids), options,
            (ids, positions, mask, rows, targets) => model.TokenLogProbs(ids, positions, mask, rows, targets));

    /// <summary>A random tree: prompt of 2-7 tokens; each node forks into 1-3 children until its random depth limit
    /// (1-4) or an early stop; segments of 1-5 tokens (so last segments are often partial); then 0-2 fallback
    /// branches hanging off random inner nodes, one to two segments long. Node log-probs are random (they play the
    /// engine's old log-probs, far enough from the model's to clip both ways). Rewards are random.</summary>
    internal static SegmentTree RandomTree(Random rng, string id, int vocab = 298)
    {
        int[] Tokens(int n) => Enumerable.Range(0, n).Select(_ => rng.Next(vocab)).ToArray();
        // Mostly near the model's (about -5.7 for a random model over 300 tokens), some far below: ratios from
        // well under 1 - eps_low to beyond the dual clip.
        float[] LogProbs(int n) => Enumerable.Range(0, n)
            .Select(_ => (float)(rng.NextDouble() < 0.2 ? -9 - 3 * rng.NextDouble() : -3.5 - 4 * rng.NextDouble())).ToArray();
        var nodes = new List<TreeNode>();
        var leaves = new List<TreeNode>();
        int prompt = rng.Next(2, 8);
        var root = new TreeNode($"{id}/root", null, 0, Tokens(prompt), [], "", null, null, 0, null, 0, 0);
        nodes.Add(root);
        int maxDepth = rng.Next(1, 5), counter = 0;
        TreeNode Child(TreeNode parent, bool leaf, string? fallbackFrom)
        {
            int n = rng.Next(1, 6);
            var node = new TreeNode($"{parent.Id}/{++counter}", parent.Id, parent.Depth + 1, Tokens(n), LogProbs(n), "x",
                SegmentFinish.Length, leaf ? StopReason.Eos : null, 0, fallbackFrom, parent.Depth + 1, parent.ResponseLength + n);
            nodes.Add(node);
            if (leaf) leaves.Add(node);
            return node;
        }
        void Grow(TreeNode parent)
        {
            int children = rng.Next(1, 4);
            for (int c = 0; c < children; c++)
            {
                bool leaf = parent.Depth + 1 >= maxDepth || rng.NextDouble() < 0.25;
                var child = Child(parent, leaf, null);
                if (!leaf) Grow(child);
            }
        }
        Grow(root);
        var inner = nodes.Where(n => !n.IsLeaf).ToList();
        int fallbacks = rng.Next(0, 3);
        for (int f = 0; f < fallbacks; f++)
        {
            var at = inner[rng.Next(inner.Count)];
            var donor = leaves[rng.Next(leaves.Count)];
            bool two = rng.NextDouble() < 0.5;
            var first = Child(at, !two, donor.Id);
            if (two) Child(first, true, null);
        }
        var trajectories = new List<Trajectory>();
        foreach (var leaf in leaves)
        {
            var path = new List<string>();
            for (var n = leaf; n is not null; n = n.ParentId is null ? null : nodes.First(x => x.Id == n.ParentId)) path.Insert(0, n.Id);
            trajectories.Add(new Trajectory(leaf.Id, path, StopReason.Eos, leaf.Round, leaf.ResponseLength) { Reward = rng.Next(2) });
        }
        if (trajectories.All(t => t.Reward == trajectories[0].Reward)) trajectories[0].Reward = 1 - trajectories[0].Reward;
        return new SegmentTree(id, new QueryItem(id, "?", "1", root.Tokens), new TreeConfig { Width = 8, Depth = 4, SegmentLength = 5 },
            1, 0, nodes, trajectories);
    }

    static List<TrainingSample> RandomSamples(int seed, int trees, bool masks, string advantage = "treepo")
    {
        var rng = new Random(seed);
        var batch = Enumerable.Range(0, trees).Select(i => RandomTree(rng, $"s{seed}-t{i}")).ToList();
        var samples = TrajectorySamples.Build(batch, 0, TrajectorySamples.AdvantageFor(advantage), out _);
        if (!masks) return samples;
        return samples.Select(s => s with { ResponseMask = s.Response.Select(_ => rng.NextDouble() > 0.15).ToArray() }).ToList();
    }

    static Dictionary<string, float[]> Gradients(Qwen2Model model) =>
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.data<float>().ToArray());

    [Theory]
    [InlineData(1, 4096, false)]
    [InlineData(2, 4096, true)]
    [InlineData(3, 60, true)]      // a small budget: several micro-batches, trees bin-packed into several rows
    [InlineData(4, 1, false)]      // every tree alone
    [InlineData(5, 4096, true, 12)]    // trees cut into pieces that repeat their shared ancestors
    [InlineData(6, 30, false, 1)]      // every sample its own piece: the prompt in each
    [InlineData(7, 4096, true, 512, "segment")]    // an advantage per segment: shared tokens carry one value for all
    [InlineData(8, 60, false, 12, "segment")]
    public void Packed_log_probs_loss_and_gradients_equal_the_unpacked_ones(int seed, int microBatchTokens, bool masks, int pieceTokens = 512,
        string advantage = "treepo")
    {
        var samples = RandomSamples(seed, trees: 5, masks, advantage);
        Assert.Equal(advantage == "segment", samples.All(s => s.TokenAdvantages is not null));
        using var model = Qwen2Model.Random(Qwen2Config.Tiny(), (ulong)seed);
        using var trainer = Trainer(model, new TrainerOptions { MicroBatchTokens = microBatchTokens, MiniBatches = 1, PieceTokens = pieceTokens });

        var unpacked = trainer.ResponseLogProbs(samples, packed: false);
        var packed = trainer.ResponseLogProbs(samples, packed: true);
        double maxDiff = 0;
        for (int i = 0; i < samples.Count; i++)
        {
            Assert.Equal(samples[i].Response.Length, packed[i].Length);
            for (int k = 0; k < packed[i].Length; k++) maxDiff = Math.Max(maxDiff, Math.Abs(packed[i][k] - unpacked[i][k]));
        }
        Assert.True(maxDiff <= 1e-5, $"max |packed - unpacked| log-prob = {maxDiff}");
        double worstGrad = 0;

        var (lossU, statsU) = trainer.LossAndGradients(samples, packed: false);
        var gradU = Gradients(model);
        var (lossP, statsP) = trainer.LossAndGradients(samples, packed: true);
        var gradP = Gradients(model);

        Assert.True(Math.Abs(lossP - lossU) <= 1e-5 * Math.Max(1, Math.Abs(lossU)), $"loss {lossP} vs {lossU}");
        Assert.Equal(statsU.Tokens, statsP.Tokens);
        Assert.True(statsU.ClipFraction > 0 && statsU.DualClipFraction > 0, "the old log-probs are far enough from the model's to clip");
        Assert.Equal(statsU.ClipFraction, statsP.ClipFraction, 6);
        Assert.Equal(statsU.DualClipFraction, statsP.DualClipFraction, 6);
        Assert.Equal(statsU.RatioMean, statsP.RatioMean, 3);
        Assert.Equal(statsU.ApproxKl, statsP.ApproxKl, 4);
        foreach (var (name, u) in gradU)
        {
            var p = gradP[name];
            double diff = Math.Sqrt(u.Zip(p, (a, b) => (double)(a - b) * (a - b)).Sum());
            double norm = Math.Sqrt(u.Sum(a => (double)a * a));
            Assert.True(norm > 0, $"{name}: no gradient");
            Assert.True(diff <= 1e-4 * norm, $"{name}: |grad packed - grad unpacked| = {diff}, |grad| = {norm}");
            worstGrad = Math.Max(worstGrad, diff / norm);
        }
        output.WriteLine($"{samples.Count} trajectories: max log-prob diff {maxDiff:E2}, worst relative gradient diff {worstGrad:E2}, " +
            $"clip {statsU.ClipFraction:P1}, dual clip {statsU.DualClipFraction:P1}");
    }

    [Fact]
    public void A_tree_is_laid_out_once_with_ancestor_masks_and_positions_continuing_from_the_parent()
    {
        // Prompt [1 2]; responses [3 4], [3 5 6], [7]: the trie holds 1 2 3 4 5 6 7 (7 tokens, not 2+2+2+3+2+1 = 12).
        var samples = new[]
        {
            new TrainingSample([1, 2], [3, 4], 1f),
            new TrainingSample([1, 2], [3, 5, 6], -1f),
            new TrainingSample([1, 2], [7], 0.5f),
        };
        var b = PackedBatch.Build(samples);
        Assert.Equal(1, b.Rows);
        Assert.Equal(7, b.Tokens);
        Assert.Equal([1, 2, 3, 4, 5, 6, 7], b.Ids);
        Assert.Equal([0, 1, 2, 3, 3, 4, 2], b.Positions);
        bool M(int i, int j) => b.Mask[i * b.Length + j];
        // Token 6 (index 5) sees 1 2 3 5 6, not the sibling 4 nor the other branch's 7.
        Assert.Equal([true, true, true, false, true, true, false], Enumerable.Range(0, 7).Select(j => M(5, j)));
        Assert.Equal([true, true, false, false, false, false, true], Enumerable.Range(0, 7).Select(j => M(6, j)));
        // Token 3 is scored once for two trajectories: advantages +1 and -1 on their own sides, counted twice.
        int shared = b.ResponseIndex[0][0];
        Assert.Equal(shared, b.ResponseIndex[1][0]);
        Assert.Equal(1, b.ScoredRows[shared]);   // predicted from token 2
        Assert.Equal(1f, b.Weights.AdvantagePositive[shared]);
        Assert.Equal(-1f, b.Weights.AdvantageNegative[shared]);
        Assert.Equal(2f, b.Weights.Count[shared]);
        Assert.Equal(6, b.Weights.Total);   // 2 + 3 + 1 trajectory tokens
    }

    [Fact]
    public void A_tree_larger_than_a_piece_is_cut_in_depth_first_order_with_its_ancestors_repeated()
    {
        // Prompt [1 2]; responses [3 4 5], [6 7], [3 4 8], [3 9]: depth first, [3 4 5] [3 4 8] [3 9] [6 7]; the trie of
        // all four holds 2 + 5 + 2 = 9 tokens.
        var samples = new[]
        {
            new TrainingSample([1, 2], [3, 4, 5], 1f),
            new TrainingSample([1, 2], [6, 7], -1f),
            new TrainingSample([1, 2], [3, 4, 8], 1f),
            new TrainingSample([1, 2], [3, 9], -1f),
            new TrainingSample([5], [6], 1f),   // another tree, small enough to stay whole
        };
        static IEnumerable<(string, int)> Shown(List<(int[] Samples, int Tokens)> pieces) =>
            pieces.Select(p => (string.Join(" ", p.Samples), p.Tokens));
        Assert.Equal([("0 1 2 3", 9), ("4", 2)], Shown(PackedBatch.Pieces(samples, 9)));
        // At 7: prompt + [3 4 5] + [8] + [9] is 7 tokens; [6 7] starts a new piece, with the prompt again.
        var cut = PackedBatch.Pieces(samples, 7);
        Assert.Equal([("0 2 3", 7), ("1", 4), ("4", 2)], Shown(cut));
        var pieces = cut.Select(p => p.Samples).ToList();
        var b = PackedBatch.Build(samples, pieces);
        Assert.Equal(cut.Sum(p => p.Tokens), b.Tokens);   // the pieces' own counts are what Build lays out
        Assert.Equal(7 + 4 + 2, b.Tokens);
        // Each response token is scored once per piece that holds it, for the samples of that piece only.
        Assert.Equal(5 + 2 + 1, b.ScoredRows.Length);   // 3 4 5 8 9, then 6 7, then the other tree's 6
        Assert.Equal(11, b.Weights.Total);
        var alone = PackedBatch.Pieces(samples, 1);
        Assert.Equal(5, alone.Count);
        Assert.Throws<ArgumentException>(() => PackedBatch.Build(samples, [[0, 1], [1, 2, 3, 4]]));
        Assert.Throws<ArgumentException>(() => PackedBatch.Build(samples, [[0, 1, 2]]));
    }

    [Fact]
    public void Small_trees_share_a_row_and_never_see_each_other()
    {
        var samples = new[]
        {
            new TrainingSample([1, 2, 3, 4], [5, 6], 1f),   // 6 tokens: the row length
            new TrainingSample([9], [8], 1f),
            new TrainingSample([9], [7], -1f),              // with the previous: 3 tokens
            new TrainingSample([11, 12], [13], 1f),         // 3 tokens
        };
        var b = PackedBatch.Build(samples);
        Assert.Equal(2, b.Rows);
        Assert.Equal(6, b.Length);
        Assert.Equal(12, b.Tokens);
        Assert.Equal([1, 2, 3, 4, 5, 6, 9, 8, 7, 11, 12, 13], b.Ids);
        Assert.Equal([0, 1, 2, 3, 4, 5, 0, 1, 1, 0, 1, 2], b.Positions);
        bool M(int row, int i, int j) => b.Mask[((long)row * b.Length + i) * b.Length + j];
        Assert.Equal([false, false, false, true, true, true], Enumerable.Range(0, 6).Select(j => M(1, 5, j)));
        Assert.Equal([true, false, true, false, false, false], Enumerable.Range(0, 6).Select(j => M(1, 2, j)));   // 7 after 9, not 8
        Assert.Equal(1 * 6 + 4, b.ScoredRows[b.ResponseIndex[3][0]]);   // token 13 is predicted from 12, row 1 column 4
    }

    [Fact]
    public void A_packed_step_trains_like_the_unpacked_step_on_fewer_tokens()
    {
        var samples = RandomSamples(7, trees: 6, masks: false);
        var options = new TrainerOptions { LearningRate = 1e-3, WarmupSteps = 0, MiniBatches = 1 };
        using var a = Qwen2Model.Random(Qwen2Config.Tiny(), 5);
        using var b = Qwen2Model.Random(Qwen2Config.Tiny(), 5);
        using var unpacked = Trainer(a, options);
        using var packed = Trainer(b, options with { Pack = true });

        var su = unpacked.Step(samples, 1);
        var sp = packed.Step(samples, 1);

        Assert.True(sp.Packed && !su.Packed);
        Assert.Equal(su.Tokens, sp.Tokens);
        Assert.Equal(su.UnpackedTokens, sp.UnpackedTokens);
        Assert.Equal(su.UnpackedTokens, su.UpdateTokens);
        Assert.True(sp.UpdateTokens < su.UpdateTokens, $"packed {sp.UpdateTokens} vs unpacked {su.UpdateTokens} tokens");
        Close(su.Loss, sp.Loss);
        Close(su.GradNorm, sp.GradNorm);
        // One mini-batch: same gradient, same step, same weights after.
        var after = unpacked.ResponseLogProbs(samples, packed: false);
        var afterPacked = packed.ResponseLogProbs(samples, packed: false);
        for (int i = 0; i < samples.Count; i++)
            for (int k = 0; k < after[i].Length; k++) Close(after[i][k], afterPacked[i][k]);
    }

    static void Close(double expected, double actual) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-5 * Math.Max(1, Math.Abs(expected)), $"{actual} vs {expected}");

    [Fact]
    public void Recomputed_old_log_probs_are_the_weights_before_the_first_update()
    {
        // Several mini-batches with recomputation: every mini-batch's ratio starts from the pre-step policy, so the
        // first mini-batch sees ratio 1 (KL 0) and later ones see the drift of the earlier updates, never a reset.
        var samples = RandomSamples(8, trees: 4, masks: false).Select(s => s with { OldLogProbs = null }).ToList();
        using var model = Qwen2Model.Random(Qwen2Config.Tiny(), 6);
        using var trainer = Trainer(model, new TrainerOptions { LearningRate = 5e-3, WarmupSteps = 0, MiniBatches = 4, Pack = true });
        var stats = trainer.Step(samples, 3);
        Assert.False(stats.EngineOldLogProbs);
        Assert.Equal(4, stats.OptimizerSteps);
        Assert.True(stats.ApproxKl != 0, "later mini-batches see the policy move away from the old one");
        // The first mini-batch's old log-probs come from its own training pass: only mini-batches 2..4 are recomputed.
        Assert.True(stats.OldLogProbTokens > 0 && stats.OldLogProbTokens < stats.UpdateTokens,
            $"recomputed {stats.OldLogProbTokens} of {stats.UpdateTokens} tokens");

        // Samples that carry the engine's log-probs: used only when asked, and then no pass recomputes anything.
        var withEngine = RandomSamples(8, trees: 4, masks: false);
        using var model2 = Qwen2Model.Random(Qwen2Config.Tiny(), 6);
        using var trainer2 = Trainer(model2, new TrainerOptions { MiniBatches = 4, Pack = true, EngineOldLogProbs = true });
        var s2 = trainer2.Step(withEngine, 3);
        Assert.True(s2.EngineOldLogProbs);
        Assert.Equal(0, s2.OldLogProbTokens);
        using var model3 = Qwen2Model.Random(Qwen2Config.Tiny(), 6);
        using var trainer3 = Trainer(model3, new TrainerOptions { MiniBatches = 4, Pack = true });
        var s3 = trainer3.Step(withEngine, 3);
        Assert.False(s3.EngineOldLogProbs);
        Assert.Equal(stats.OldLogProbTokens, s3.OldLogProbTokens);
    }
}
