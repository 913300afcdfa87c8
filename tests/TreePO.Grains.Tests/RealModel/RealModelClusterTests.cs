using TreePO.Core.Protocol;
using TreePO.Core.Tasks;
using TreePO.Core.Trees;
using TreePO.Grains.Engines;
using TreePO.Grains.Placement;
using TreePO.Grains.Tests.Support;
using TreePO.Grains.Trees;
using TreePO.Hosting;
using TreePO.Hosting.Rollout;

namespace TreePO.Grains.Tests.RealModel;

/// <summary>The cluster with nothing scripted: AddTreePO loads a real (random, tiny) model folder into InferenceEngines
/// and its tokenizer into the trees.</summary>
public sealed class RealModelClusterTests
{
    static RolloutInput Input(int n) => RolloutInput.BuiltIn(seed: 7, n);

    [Fact]
    public async Task An_embedded_silo_runs_trees_end_to_end_through_the_inference_engine()
    {
        var options = TinyModelFolder.Options();
        var text = TinyModelFolder.Text(options);
        await using var silo = await EmbeddedSilo.StartAsync(options);
        var input = Input(4);
        var results = await Task.WhenAll(input.Items.Select((item, i) => silo.Client.GetGrain<IQueryTreeGrain>($"e/{item.Id}")
            .RunAsync(TreeJob.For(new QueryItem(item.Id, item.Question, item.Answer, text.PromptIds(item.Question)), options.TreeConfig(), (ulong)i))));

        foreach (var r in results)
        {
            var tree = TreeJson.Read(r.TreeLine);
            Assert.Equal(text.PromptText(tree.Query.Question), text.Tokenizer.Decode(tree.Root.Tokens));
            Assert.InRange(tree.Trajectories.Count, 1, 4);
            Assert.All(tree.Trajectories, t => Assert.InRange(t.ResponseLength, 1, 24));
            // Segments are the engine's samples: every token in the vocabulary, one log-prob each, all <= 0.
            Assert.All(tree.Nodes.Where(n => !n.IsRoot), n =>
            {
                Assert.Equal(n.Tokens.Length, n.LogProbs.Length);
                Assert.All(n.LogProbs, p => Assert.True(p <= 0));
            });
            Assert.Equal(0, r.Routing.Failovers);
        }
        var engine = silo.Client.GetGrain<IEngineGrain>(results[0].Routing.Engines.Single());
        var stats = await engine.GetStatsAsync();
        Assert.Equal(results.Sum(r => r.Routing.Requests), stats.Requests);
        Assert.Equal(text.MaxSequenceLength, stats.MaxSequenceLength);
        Assert.Equal(results.Sum(r => r.Routing.DecodeTokens), stats.Counters.DecodeTokens);
        Assert.Equal(0, stats.Counters.ActiveSequences);
    }

    [Fact]
    public async Task Two_silos_one_engine_each_complete_their_trees_in_shared_batches_and_a_too_long_prompt_fails_alone()
    {
        var options = TinyModelFolder.Options();
        var text = TinyModelFolder.Text(options);
        await using var cluster = await TinyModelFolder.ClusterAsync(2, options);
        var input = Input(12);
        var jobs = input.Items.Select((item, i) => TreeJob.For(
            new QueryItem(item.Id, item.Question, item.Answer, text.PromptIds(item.Question)), options.TreeConfig(), (ulong)i)).ToList();
        var tooLong = TreeJob.For(new QueryItem("long", "x", "1", [.. Enumerable.Repeat(5, text.MaxSequenceLength)]), options.TreeConfig(), 1);

        var failing = cluster.Client.GetGrain<IQueryTreeGrain>("two/long").RunAsync(tooLong);
        var results = await Task.WhenAll(jobs.Select(j => cluster.Client.GetGrain<IQueryTreeGrain>($"two/{j.QueryId}").RunAsync(j)));
        var e = await Assert.ThrowsAsync<ArgumentException>(() => failing);
        Assert.Contains($"exceeds the model's context of {text.MaxSequenceLength}", e.Message);

        Assert.All(results, r =>
        {
            Assert.InRange(r.Trajectories, 1, 4);
            Assert.All(r.Routing.Engines, engine => Assert.StartsWith(r.Silo + "/", engine));   // each tree on its own silo's engine
        });
        long served = 0;
        foreach (var silo in cluster.Silos)
        {
            string siloKey = SiloKey.For(silo.SiloAddress);
            if (!results.Any(r => r.Silo == siloKey)) continue;
            var stats = await cluster.Client.GetGrain<IEngineGrain>(SiloKey.For(silo.SiloAddress, 0)).GetStatsAsync();
            Assert.Equal([siloKey], stats.RequestsBySilo.Keys);
            Assert.True(stats.Counters.MaxBatchSize > 1, $"engine {stats.Engine}: max batch {stats.Counters.MaxBatchSize}");
            served += stats.Requests - stats.Failed;
        }
        Assert.Equal(results.Sum(r => r.Routing.Requests), served);
    }

    [Fact]
    public async Task Same_seed_same_trees_and_another_seed_other_trees()
    {
        var options = TinyModelFolder.Options();
        var text = TinyModelFolder.Text(options);
        await using var silo = await EmbeddedSilo.StartAsync(options);
        string dir = TreePO.Testing.ScratchFolders.Create("treepo-rollout-seed-").FullName;
        async Task<List<SegmentTree>> RunAsync(ulong seed, string name)
        {
            options.Seed = seed;
            var result = await new RolloutRunner(silo.Client, text, options).RunAsync(Input(6), Path.Combine(dir, name));
            return [.. File.ReadAllLines(result.TreesPath).Select(l => TreeJson.Read(l))];
        }
        var a = await RunAsync(11, "a");
        var b = await RunAsync(11, "b");
        var c = await RunAsync(12, "c");
        Assert.Equal(6, a.Count);
        for (int i = 0; i < a.Count; i++) AssertSameTree(a[i], b[i]);
        Assert.NotEqual(Tokens(a[0]), Tokens(c[0]));
    }

    static string Tokens(SegmentTree t) => string.Join(" | ", t.Nodes.Select(n => $"{n.Id}:{string.Join(",", n.Tokens)}"));

    /// <summary>Same nodes, tokens, stops and trajectories. Log-probs agree to float rounding only: a step's fp32
    /// matmuls round differently with the batch they ran in, and which trees shared a step is timing.</summary>
    static void AssertSameTree(SegmentTree x, SegmentTree y)
    {
        Assert.Equal(Tokens(x), Tokens(y));
        Assert.Equal(x.Trajectories.Select(t => (t.Leaf, t.Stop, t.Correct)), y.Trajectories.Select(t => (t.Leaf, t.Stop, t.Correct)));
        foreach (var (n, m) in x.Nodes.Zip(y.Nodes))
            for (int k = 0; k < n.LogProbs.Length; k++) Assert.Equal(n.LogProbs[k], m.LogProbs[k], 1e-3f);
    }
}
