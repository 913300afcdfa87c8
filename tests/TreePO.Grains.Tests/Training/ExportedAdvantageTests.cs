using System.Text.Json;
using System.Text.Json.Nodes;
using TreePO.Core.Training;
using TreePO.Core.Trees;
using TreePO.Grains.Tests.Support;
using TreePO.Grains.Training;
using TreePO.Hosting.Rollout;
using TreePO.Testing;

namespace TreePO.Grains.Tests.Training;

/// <summary>
/// The advantages `treepo rollout` writes into trees.jsonl and `train --save-trees` into runs/NAME/trees/step-N.jsonl
/// agree with the definition in docs/trees-format.md, recomputed from the exported JSON alone; with the tiny model
/// and the <see cref="ParityReward"/>, so that rewards differ within trees and the advantages are not all zero.
/// </summary>
public sealed class ExportedAdvantageTests
{
    [Fact]
    public async Task Rollout_writes_the_advantages_of_its_batch_with_the_estimator_of_its_mode()
    {
        string dir = TreePO.Testing.ScratchFolders.Create("treepo-rollout-adv-").FullName;
        await using var cluster = await TrainingClusters.StartAsync();
        var input = RolloutInput.BuiltIn(seed: 5, count: 6);
        foreach (var (mode, algo) in new[] { (SamplingMode.Tree, "treepo"), (SamplingMode.Sequential, "grpo") })
        {
            var options = TinyModelFolder.Options(o => o.Tree.Mode = mode);
            string outDir = Path.Combine(dir, algo);
            var result = await new RolloutRunner(cluster.Client, TinyModelFolder.Text(options), options, new ParityReward()) { BatchId = algo }
                .RunAsync(input, outDir);
            Assert.Equal(6, result.Trees.Count);

            var lines = File.ReadAllLines(Path.Combine(outDir, RolloutRunner.TreesFile));
            var rows = DocumentedAdvantage.AssertAgree(lines, algo, $"rollout {algo}");
            Assert.Equal(result.Trees.Sum(t => t.Trajectories.Count), rows.Count);
            Assert.Contains(rows, r => Math.Abs(r.Advantage) > 0.1);   // rewards differ somewhere: a zero export would fail
            var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, RolloutRunner.SummaryFile)))!.AsObject();
            Assert.Equal(algo, summary["algo"]!.GetValue<string>());
            Assert.Equal(algo == "treepo" ? "tree" : "grpo", summary["advantage"]!["estimator"]!.GetValue<string>());
        }
    }

    /// <summary>With the tree estimator and with the segment estimator, whose per-node values the file carries too
    /// (<c>segment_advantages</c>, absent for the others).</summary>
    [Theory]
    [InlineData("tree", "treepo")]
    [InlineData("segment", "segment")]
    public async Task Train_with_save_trees_writes_every_step_as_trained(string estimator, string definition)
    {
        string runDir = TreePO.Testing.ScratchFolders.Create("treepo-run-trees-").FullName;
        var spec = new RunSpec("trees", runDir, TinyModelFolder.Path, null, null, TaskLevel: 1, Steps: 2, QueriesPerStep: 3, MaxExtraRounds: 1,
            TreeConfigJson: JsonSerializer.Serialize(new TreeConfig { Width = 4, Depth = 2, SegmentLength = 4, Branch = 2 }, TreeJson.Options),
            Trainer: new TrainerSettings(LearningRate: 1e-3, WarmupSteps: 1, MiniBatches: 2, Advantage: estimator),
            EvalEvery: 0, EvalQueries: 2, EvalK: 1, EvalTemperature: 1f, EvalMaxTokens: 8, CheckpointEvery: 0, Seed: 11, SaveTrees: true);
        await using (var cluster = await TrainingClusters.StartAsync())
        {
            var run = cluster.Client.GetGrain<IRunGrain>(spec.RunId);
            await run.StartAsync(spec, resume: false);
            var deadline = DateTime.UtcNow.AddMinutes(3);
            RunStatus status;
            while (!(status = await run.GetStatusAsync()).Done)
            {
                Assert.True(DateTime.UtcNow < deadline, $"the run did not finish: {status.Phase} at step {status.Step}");
                await Task.Delay(100);
            }
            Assert.True(status.Phase == RunPhase.Finished, status.Error);
        }

        var metrics = File.ReadAllLines(Path.Combine(runDir, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(["step-1.jsonl", "step-2.jsonl"], Directory.GetFiles(Path.Combine(runDir, StepTrees.Folder)).Select(Path.GetFileName).Order());
        int trainedSteps = 0;
        var all = new List<DocumentedAdvantage.Row>();
        for (int n = 1; n <= 2; n++)
        {
            var row = metrics.Single(m => m["step"]!.GetValue<int>() == n);
            var lines = File.ReadAllLines(StepTrees.PathOf(runDir, n));
            if (!row["trained"]!.GetValue<bool>()) { Assert.Empty(lines); continue; }
            trainedSteps++;
            Assert.Equal(row["filter_kept"]!.GetValue<int>(), lines.Length);   // the trees that passed the filter, no other
            var trees = lines.Select((l, i) => TreeJson.Read(l, i + 1)).ToList();
            Assert.All(trees, t => Assert.Equal(row["policy_version"]!.GetValue<int>(), t.PolicyVersion));
            Assert.All(trees, t => Assert.StartsWith($"trees-s{n}/", t.TreeId));
            var rows = DocumentedAdvantage.AssertAgree(lines, definition, $"step-{n}.jsonl");
            Assert.Equal(estimator == "segment", lines.All(l => l.Contains("\"segment_advantages\"")));
            Assert.Equal(estimator == "segment", rows.All(r => r.Segments is not null));
            // The very values the update trained on: their mean magnitude over the trained samples is the metrics line's.
            var trained = rows.Where(r => r.ResponseLen > 0).ToList();
            Assert.Equal(row["samples"]!.GetValue<int>(), trained.Count);
            Assert.Equal(row["advantage_abs_mean"]!.GetValue<double>(), trained.Average(r => Math.Abs((double)(float)r.Advantage)), 6);
            all.AddRange(rows);
        }
        Assert.True(trainedSteps > 0, "no step trained");
        Assert.Contains(all, r => Math.Abs(r.Advantage) > 0.1);
    }
}
