using TreePO.Core.Data;
using TreePO.Core.Tasks;
using TreePO.Core.Trees;
using TreePO.Grains.Tests.Support;
using TreePO.Hosting.Rollout;

namespace TreePO.Grains.Tests.RealModel;

/// <summary>What `treepo rollout` does, through <see cref="RolloutRunner"/> on a two-silo cluster with the tiny model.</summary>
public sealed class RolloutRunnerTests
{
    [Fact]
    public async Task A_dataset_rollout_writes_trees_and_summary_and_reports_every_skipped_query()
    {
        string dir = TreePO.Testing.ScratchFolders.Create("treepo-rollout-").FullName;
        string data = Path.Combine(dir, "data.jsonl");
        var task = new ArithmeticTask(seed: 2);
        var good = Enumerable.Range(0, 5).Select(i => task.Generate(TaskSplit.Test, i)).ToList();
        File.WriteAllLines(data,
        [
            .. good.Take(2).Select(p => $$"""{"qid": "{{p.Id}}", "problem": "{{p.Question}}", "result": {{p.Answer}}}"""),
            """{"qid": "broken", "problem": "no answer here"}""",
            "not json",
            $$"""{"qid": "huge", "problem": "{{string.Join(" ", Enumerable.Repeat("Tom has 12 apples.", 200))}}", "result": "1"}""",
            .. good.Skip(2).Select(p => $$"""{"qid": "{{p.Id}}", "problem": "{{p.Question}}", "result": "{{p.Answer}}"}"""),
        ]);
        var input = RolloutInput.FromDataset(data, new DatasetFields(Question: "problem", Answer: "result", Id: "qid"));
        Assert.Equal(6, input.Items.Count);
        Assert.Equal(["data.jsonl:3", "data.jsonl:4"], input.Skipped.Select(s => s[(s.LastIndexOf('/') + 1)..s.IndexOf(": ", StringComparison.Ordinal)]));

        var options = TinyModelFolder.Options(o => o.Tree.Mode = SamplingMode.Sequential);
        var text = TinyModelFolder.Text(options);
        await using var cluster = await TinyModelFolder.ClusterAsync(2, options);
        var progress = new List<RolloutProgress>();
        var result = await new RolloutRunner(cluster.Client, text, options) { BatchId = "ds", ClusterDescription = "test cluster" }
            .RunAsync(input, Path.Combine(dir, "out"), progress.Add);

        var lines = File.ReadAllLines(Path.Combine(dir, "out", RolloutRunner.TreesFile));
        var trees = lines.Select((l, i) => TreeJson.Read(l, i + 1)).ToList();
        Assert.Equal(good.Select(p => p.Id), trees.Select(t => t.Query.Id));   // input order, the long prompt left out
        Assert.All(trees, t =>
        {
            Assert.Equal(SamplingMode.Sequential, t.Config.Mode);
            Assert.Equal($"ds/{t.Query.Id}", t.TreeId);
            Assert.Equal(4, t.Trajectories.Count);   // sequential: w samples that share only the prompt
            Assert.Equal(4, t.Nodes.Count(n => n.ParentId == t.Root.Id));
            Assert.Equal(t.Metrics.GeneratedTokens, t.Metrics.UniqueTokens);
        });

        var summary = RolloutSummary.FromJson(File.ReadAllText(Path.Combine(dir, "out", RolloutRunner.SummaryFile)));
        Assert.Equal(8, summary.Queries);
        Assert.Equal(5, summary.Trees);
        Assert.Equal(3, summary.Skipped);
        Assert.Contains(summary.SkippedReasons, r => r.StartsWith("query huge: a prompt of ") && r.Contains("exceeds the model's context of 512 tokens"));
        Assert.Equal(trees.Sum(t => t.Trajectories.Count), summary.Trajectories);
        Assert.Equal(trees.Sum(t => t.Metrics.GeneratedTokens), summary.GeneratedTokens);
        Assert.Equal(summary.GeneratedTokens, summary.DecodedTokens);   // sequential paths share nothing but the prompt
        Assert.True(summary.ComputedTokens >= summary.DecodedTokens);
        Assert.Equal(4, summary.K);
        Assert.InRange(summary.MeanAtK, 0, 1);
        Assert.Equal(summary.Correct / (double)summary.Trajectories, summary.Accuracy, 9);
        Assert.Equal(0, summary.Failovers);
        Assert.Equal("sequential", summary.Mode);
        Assert.NotEmpty(summary.Engines);
        Assert.Equal(summary.Trees, result.Trees.Count);

        Assert.Equal(5, progress.Count);
        Assert.Equal(5, progress[^1].TreesDone);
        Assert.Equal(summary.Trajectories, progress[^1].Trajectories);
    }
}
