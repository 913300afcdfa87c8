using TreePO.Core.Protocol;
using TreePO.Core.Trees;
using static TreePO.Core.Tests.Trees.Trees;

namespace TreePO.Core.Tests.Trees;

public sealed class TreeSamplerTests
{
    static readonly TreeConfig Small = new() { Width = 8, Depth = 5, SegmentLength = 4, Branch = 2 };

    static (int Round, int K) Component(SegmentRequest r)
    {
        string[] parts = r.ChildNodeIds[0].Split('/')[^1].Split('-');
        return (int.Parse(parts[0]), int.Parse(parts[1]));
    }

    static int[] BranchesOfRound(ScriptedGenerator gen, int round) =>
        gen.Requests.Where(r => Component(r).Round == round).OrderBy(r => Component(r).K).Select(r => r.Branches).ToArray();

    [Fact]
    public async Task Grows_by_b_until_w_then_continues_one_to_one()
    {
        var (tree, gen) = await RunAsync(Small, Plain);
        Assert.Equal([2], BranchesOfRound(gen, 1));
        Assert.Equal([2, 2], BranchesOfRound(gen, 2));
        Assert.Equal([2, 2, 2, 2], BranchesOfRound(gen, 3));
        Assert.Equal(Enumerable.Repeat(1, 8), BranchesOfRound(gen, 4));
        Assert.Equal(Enumerable.Repeat(1, 8), BranchesOfRound(gen, 5));
        Assert.Equal(8, tree.Trajectories.Count);
        // Full segments reach the budget d*l exactly at depth d, and the length check comes before the depth check.
        Assert.All(tree.Trajectories, t => Assert.Equal(StopReason.MaxTokens, t.Stop));
        Assert.All(tree.Trajectories, t => Assert.Equal(5, t.Depth));
        var (deeperBudget, _) = await RunAsync(Small with { MaxResponseTokens = 100 }, Plain);
        Assert.All(deeperBudget.Trajectories, t => Assert.Equal(StopReason.MaxDepth, t.Stop));
        Assert.Equal(1 + 2 + 4 + 8 + 8, tree.Stats.InferenceCalls);
        Assert.Equal(5, tree.Stats.Rounds);
        Assert.Equal(0, tree.Stats.FallbackRequests);
    }

    [Fact]
    public async Task All_requests_of_a_round_are_issued_together()
    {
        var (_, gen) = await RunAsync(Small, Plain);
        Assert.Equal(8, gen.MaxInFlight);
    }

    [Fact]
    public async Task Node_ids_are_prefixed_by_the_tree_and_unique()
    {
        var (tree, _) = await RunAsync(Small, Plain, treeId: "step3/q9");
        Assert.Equal("step3/q9/root", tree.Root.Id);
        Assert.All(tree.Nodes, n => Assert.StartsWith("step3/q9/", n.Id));
        Assert.Equal(tree.Nodes.Count, tree.Nodes.Select(n => n.Id).Distinct().Count());
        Assert.Equal(Prompt, tree.Root.Tokens);
    }

    [Fact]
    public async Task A_segment_that_is_only_eos_stops_its_path_and_every_path_can_stop_at_depth_one()
    {
        // EOS at index 0 is seen (docs/paper.md, deviation 5). Every segment is just [EOS], so every path stops at depth 1 and
        // fallback restarts from the prompt until w trajectories exist.
        var (tree, gen) = await RunAsync(Small, _ => new Seg("", Eos: true));
        Assert.Equal(8, tree.Trajectories.Count);
        Assert.All(tree.Trajectories, t => Assert.Equal(StopReason.Eos, t.Stop));
        Assert.All(tree.Trajectories, t => Assert.Equal(1, t.Depth));
        Assert.All(tree.Nodes.Where(n => !n.IsRoot), n => Assert.Equal([0], n.Tokens));
        Assert.All(gen.Requests, r => Assert.EndsWith("/root", r.ParentNodeId));
        Assert.True(tree.Stats.FallbackRequests > 0);
    }

    [Fact]
    public async Task Eos_is_any_id_of_the_set_at_any_position_and_ends_the_segment_there()
    {
        var config = Small with { Width = 2 };
        var (tree, _) = await RunAsync(config, c => c.Branch == 0
            ? new Seg("ab", Eos: true, EosId: 1)          // second EOS id of the set
            : new Seg("a\u0000cd"));                        // EOS in the middle: the rest is cut
        var leaves = tree.Trajectories.Select(t => tree.Node(t.Leaf)).OrderBy(n => n.Id).ToList();
        Assert.All(tree.Trajectories, t => Assert.Equal(StopReason.Eos, t.Stop));
        Assert.Contains(leaves, n => n.Tokens.SequenceEqual(['a', 'b', 1]));
        Assert.Contains(leaves, n => n.Tokens.SequenceEqual(['a', 0]));
        Assert.All(leaves, n => Assert.Equal(SegmentFinish.Eos, n.Finish));
        Assert.All(leaves, n => Assert.Equal(n.Tokens.Length, n.LogProbs.Length));
    }

    [Fact]
    public async Task Boxed_with_eos_finishes_boxed_without_eos_goes_on_by_default()
    {
        var config = Small with { Width = 2, Depth = 3, SegmentLength = 16 };
        var (tree, _) = await RunAsync(config, c => c.Branch == 0
            ? new Seg("so \\boxed{2}", Eos: true)
            : new Seg("so \\boxed{{2}}!!"));
        Assert.Equal(StopReason.Finished, tree.Nodes.Single(n => n.Id.EndsWith("/root/1-0")).Stop);
        Assert.Null(tree.Nodes.Single(n => n.Id.EndsWith("/root/1-1")).Stop);
        var (asEos, _) = await RunAsync(config with { SegmentLength = 64, BoxedStop = BoxedStopPolicy.BoxedAsEos },
            c => new Seg("so \\boxed{\\frac{\\sqrt{\\frac{1}{2}}}{3}}"));
        Assert.All(asEos.Trajectories, t => Assert.Equal(StopReason.Finished, t.Stop));
        Assert.All(asEos.Trajectories, t => Assert.Equal(1, t.Depth)); // three levels of nesting still count (docs/paper.md, deviation 6)
    }

    [Fact]
    public async Task Repetition_is_last_by_default_and_first_when_so_configured()
    {
        var config = Small with { Width = 2, SegmentLength = 64 };
        string repetitive = new('x', 45);
        var (least, _) = await RunAsync(config, _ => new Seg(repetitive, Eos: true));
        Assert.All(least.Trajectories, t => Assert.Equal(StopReason.Eos, t.Stop));
        var (most, _) = await RunAsync(config with { Repetition = RepetitionPriority.MostPrioritized }, _ => new Seg(repetitive, Eos: true));
        Assert.All(most.Trajectories, t => Assert.Equal(StopReason.Repetition, t.Stop));
        var (plain, _) = await RunAsync(config with { Fallback = FallbackPolicy.None }, _ => new Seg(repetitive));
        Assert.All(plain.Trajectories, t => Assert.Equal(StopReason.Repetition, t.Stop));
        Assert.All(plain.Trajectories, t => Assert.Equal(1, t.Depth));
    }

    [Fact]
    public async Task The_response_budget_caps_the_last_segment_and_stops_the_path()
    {
        var config = Small with { Width = 2, Depth = 10, SegmentLength = 4, MaxResponseTokens = 10 };
        var (tree, gen) = await RunAsync(config, Plain);
        Assert.Equal([4, 4, 2], gen.Requests.GroupBy(r => Component(r).Round).OrderBy(g => g.Key).Select(g => g.First().MaxTokens));
        Assert.All(tree.Trajectories, t => Assert.Equal(StopReason.MaxTokens, t.Stop));
        Assert.All(tree.Trajectories, t => Assert.Equal(10, t.ResponseLength));
    }

    [Fact]
    public async Task Budget_transfer_gives_a_finished_paths_branches_to_the_active_ones()
    {
        // w = 4: round 1 forks 2; branch 0 finishes, so W = 1, a = 1: total = min(3, 1*2 + 1*2) = 3 copies.
        var config = Small with { Width = 4 };
        var (tree, gen) = await RunAsync(config, c => c.Round == 1 && c.Branch == 0 ? new Seg("x", Eos: true) : new Seg(""));
        Assert.Equal([3], BranchesOfRound(gen, 2));
        Assert.Equal(4, tree.Trajectories.Count);
    }

    [Fact]
    public async Task Width_not_a_power_of_b_gives_the_remainder_to_the_last_path()
    {
        // w = 6: 2 -> 4 -> total min(6, 8) = 6 over 4 paths: 1, 1, 1, 3 (fixed_avg).
        var config = Small with { Width = 6 };
        var (tree, gen) = await RunAsync(config, Plain);
        Assert.Equal([2, 2], BranchesOfRound(gen, 2));
        Assert.Equal([1, 1, 1, 3], BranchesOfRound(gen, 3));
        Assert.Equal(6, tree.Trajectories.Count);
    }

    [Fact]
    public async Task Random_initial_divergence_draws_from_min_to_max_capped_at_w()
    {
        var seen = new HashSet<int>();
        for (ulong seed = 0; seed < 60; seed++)
        {
            var (_, gen) = await RunAsync(Small with { Width = 16, Depth = 1, InitDivergenceMax = 8 }, Plain, seed);
            seen.Add(gen.Requests[0].Branches);
        }
        Assert.Equal(Enumerable.Range(2, 7), seen.Order());
        for (ulong seed = 0; seed < 20; seed++)
        {
            var (_, gen) = await RunAsync(Small with { Width = 3, Depth = 1, InitDivergenceMin = 3, InitDivergenceMax = 8 }, Plain, seed);
            Assert.Equal(3, gen.Requests[0].Branches);
        }
    }

    [Fact]
    public async Task Fallback_continues_prompt_plus_truncated_response_from_a_segment_boundary()
    {
        // Everything ends with EOS at depth 2 (soft_boxed_and_eos candidates); w = 6 > the 4 paths of the first tree,
        // so fallback must cut some of them. The generator checks each context is prompt + the cut prefix (docs/paper.md, deviation 4).
        var config = Small with { Width = 6, Depth = 5, SegmentLength = 3 };
        var (tree, gen) = await RunAsync(config, c => c.ParentDepth == 1 ? new Seg("z", Eos: true) : new Seg(""));
        Assert.Equal(6, tree.Trajectories.Count);
        var fallbackNodes = tree.Nodes.Where(n => n.FallbackFrom is not null).ToList();
        Assert.NotEmpty(fallbackNodes);
        foreach (TreeNode n in fallbackNodes)
        {
            TreeNode parent = tree.Node(n.ParentId!);
            Assert.Equal(parent.Depth * config.SegmentLength, parent.ResponseLength);
            Trajectory donor = tree.Trajectories.Single(t => t.Leaf == n.FallbackFrom);
            Assert.Contains(parent.Id, donor.Path.Take(donor.Path.Count - 1));
        }
        Assert.True(tree.Stats.FinishedAtFirstFallback >= 1);
    }

    [Fact]
    public async Task Fallback_with_no_candidates_restarts_from_the_prompt()
    {
        // Round 1: both branches repeat themselves (not a candidate under soft_boxed_and_eos).
        var config = Small with { Width = 4, Depth = 2, SegmentLength = 48 };
        var (tree, gen) = await RunAsync(config, c => c.Round == 1 ? new Seg(new string('r', 48)) : new Seg(""));
        SegmentRequest second = gen.Requests.Single(r => Component(r).Round == 2);
        Assert.EndsWith("/root", second.ParentNodeId);
        Assert.Equal(2, second.Branches);
        Assert.Equal(4, tree.Trajectories.Count);
        Assert.Equal(1, tree.Stats.FallbackRequests);
        Assert.Equal(2, tree.Trajectories.Count(t => t.Stop == StopReason.Repetition));
    }

    [Fact]
    public async Task Without_fallback_a_tree_can_end_short_of_w()
    {
        var config = Small with { Width = 8, Fallback = FallbackPolicy.None };
        var (tree, _) = await RunAsync(config, _ => new Seg("", Eos: true));
        Assert.Equal(2, tree.Trajectories.Count);
    }

    [Fact]
    public async Task Sequential_mode_forks_w_at_the_root_and_never_branches_again()
    {
        var config = Small with { Mode = SamplingMode.Sequential, Width = 5 };
        var (tree, gen) = await RunAsync(config, c => c.Branch == 0 && c.ParentDepth == 0 && c.Round == 1 ? new Seg("x", Eos: true) : new Seg(""));
        Assert.Equal(5, gen.Requests[0].Branches);
        Assert.All(gen.Requests.Skip(1), r => Assert.Equal(1, r.Branches));
        Assert.Equal(5, tree.Trajectories.Count);
        Assert.Equal(1, tree.Trajectories.Count(t => t.Depth == 1));
        Assert.Equal(0, tree.Stats.FallbackRequests);
        Assert.All(tree.Nodes.Where(n => n.Depth == 2), n => Assert.Single(tree.Nodes, c => c.ParentId == n.ParentId));
    }

    [Fact]
    public async Task Log_prob_branching_gives_low_probability_paths_more_copies()
    {
        var config = Small with { Width = 8, Branching = BranchingPolicy.LogProb, LogProbTemperature = 0.5 };
        var (_, gen) = await RunAsync(config, c => c.Round == 1 ? new Seg("", LogProb: c.Branch == 0 ? -3f : -0.1f) : new Seg(""));
        int[] second = BranchesOfRound(gen, 2);
        Assert.Equal(4, second.Sum());
        Assert.True(second[0] > second[1]);
        var (_, high) = await RunAsync(config with { LogProbDirection = LogProbDirection.HighProbEncouraged },
            c => c.Round == 1 ? new Seg("", LogProb: c.Branch == 0 ? -3f : -0.1f) : new Seg(""));
        int[] h = BranchesOfRound(high, 2);
        Assert.True(h[0] < h[1]);
    }

    [Fact]
    public async Task Every_node_is_released_once_and_leaves_before_the_end()
    {
        var config = Small with { Width = 6, SegmentLength = 3 };
        var (tree, gen) = await RunAsync(config, c => c.ParentDepth == 1 && c.Branch == 1 ? new Seg("q", Eos: true) : new Seg(""));
        Assert.Equal(tree.Nodes.Select(n => n.Id).Order(), gen.ReleaseCounts.Keys.Order());
        Assert.All(gen.ReleaseCounts.Values, c => Assert.Equal(1, c));
        var early = gen.ReleaseCalls.Take(gen.ReleaseCalls.Count - 1).SelectMany(x => x).ToHashSet();
        Assert.Contains(tree.Trajectories, t => early.Contains(t.Leaf));
    }

    /// <summary>An engine takes a release between two steps: a tree that waited for it before sending its next round
    /// lost a step every round. The next round goes out first; the release is awaited with it, and the tree is the
    /// same.</summary>
    [Fact]
    public async Task The_next_round_goes_out_before_the_last_rounds_release_is_taken()
    {
        var config = Small with { Width = 6, SegmentLength = 3 };
        Func<Call, Seg> script = c => c.ParentDepth == 1 && c.Branch == 1 ? new Seg("q", Eos: true) : new Seg("");
        var (expected, _) = await RunAsync(config, script);

        var slow = new SlowReleases(new ScriptedGenerator(Prompt, script));
        var tree = await new TreeSampler(config, slow, CharDecoder.Instance, CharDecoder.Eos).RunAsync(Query(), "b0/q1", 7, policyVersion: 3);
        Assert.True(slow.SentWhileReleasing > 0, "no request went out while a release was being taken");
        Assert.Equal(TreeJson.Write(expected), TreeJson.Write(tree));
        Assert.Empty(slow.Inner.Errors);
        Assert.All(slow.Inner.ReleaseCounts.Values, c => Assert.Equal(1, c));
        Assert.Equal(tree.Nodes.Select(n => n.Id).Order(), slow.Inner.ReleaseCounts.Keys.Order());
    }

    /// <summary>Takes a while over each release, as an engine busy with a step does, and counts the requests that
    /// arrive meanwhile.</summary>
    sealed class SlowReleases(ScriptedGenerator inner) : ISegmentGenerator
    {
        int releasing, sent;
        public ScriptedGenerator Inner => inner;
        public int SentWhileReleasing => Volatile.Read(ref sent);

        public Task<SegmentResult> GenerateAsync(SegmentRequest request, CancellationToken cancellationToken = default)
        {
            if (Volatile.Read(ref releasing) > 0) Interlocked.Increment(ref sent);
            return inner.GenerateAsync(request, cancellationToken);
        }

        public async Task ReleaseAsync(IReadOnlyCollection<string> nodeIds, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref releasing);
            try
            {
                await inner.ReleaseAsync(nodeIds, cancellationToken);
                await Task.Delay(20, cancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref releasing);
            }
        }
    }

    [Fact]
    public async Task Same_seed_same_tree_and_the_policy_version_is_recorded()
    {
        var config = Small with { Width = 6, SegmentLength = 3, InitDivergenceMax = 4 };
        Func<Call, Seg> script = c => new SeededRandom(c.BranchSeed).NextDouble() < 0.3 ? new Seg("e", Eos: true) : new Seg("");
        var (a, _) = await RunAsync(config, script, seed: 11);
        var (b, _) = await RunAsync(config, script, seed: 11);
        var (c, _) = await RunAsync(config, script, seed: 12);
        Assert.Equal(TreeJson.Write(a), TreeJson.Write(b));
        Assert.NotEqual(TreeJson.Write(a), TreeJson.Write(c));
        Assert.All(a.Nodes.Where(n => !n.IsRoot), n => Assert.Equal(3, n.PolicyVersion));
    }

    [Fact]
    public void Invalid_configurations_name_every_bad_option()
    {
        var bad = new TreeConfig { Width = 0, SegmentLength = -2, InitDivergenceMin = 5, InitDivergenceMax = 3, MaxFallbackWindow = 0 };
        var errors = bad.Validate();
        Assert.Contains(errors, e => e.StartsWith("Width"));
        Assert.Contains(errors, e => e.StartsWith("SegmentLength"));
        Assert.Contains(errors, e => e.StartsWith("InitDivergenceMin"));
        Assert.Contains(errors, e => e.StartsWith("MaxFallbackWindow"));
        Assert.Empty(new TreeConfig().Validate());
        var ex = Assert.Throws<ArgumentException>(() => new TreeSampler(bad, new ScriptedGenerator(Prompt, Plain), CharDecoder.Instance, CharDecoder.Eos));
        Assert.Contains("Width", ex.Message);
    }

    [Fact]
    public async Task A_generator_that_breaks_the_protocol_gets_a_clear_error()
    {
        var broken = new BrokenGenerator();
        var sampler = new TreeSampler(Small, broken, CharDecoder.Instance, CharDecoder.Eos);
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => sampler.RunAsync(Query(), "t", 1, 0));
        Assert.Contains("tree t", ex.Message);
        Assert.Contains("expected 2 branches", ex.Message);
    }

    sealed class BrokenGenerator : ISegmentGenerator
    {
        public Task<SegmentResult> GenerateAsync(SegmentRequest request, CancellationToken cancellationToken = default) =>
            Task.FromResult(new SegmentResult([new SegmentBranch(request.ChildNodeIds[0], [65], [0f], SegmentFinish.Length)], 0, 0, 0, 0));
        public Task ReleaseAsync(IReadOnlyCollection<string> nodeIds, CancellationToken cancellationToken = default) => Task.CompletedTask;
    }

    [Fact]
    public void Temperature_schedules()
    {
        var c = new TreeConfig { TemperatureSchedule = TemperatureSchedule.SinusoidDescending, TemperatureMin = 1, TemperatureMax = 5, ScheduleTotalSteps = 100 };
        Assert.Equal(5, c.Temperature, 9);
        Assert.Equal(3, (c with { ScheduleStep = 50 }).Temperature, 9);
        Assert.Equal(1, (c with { ScheduleStep = 100 }).Temperature, 9);
        Assert.Equal(1, (c with { TemperatureSchedule = TemperatureSchedule.SinusoidAscending }).Temperature, 9);
        Assert.Equal(2.0, (c with { TemperatureSchedule = TemperatureSchedule.Constant, LogProbTemperature = 2.0 }).Temperature);
    }
}
