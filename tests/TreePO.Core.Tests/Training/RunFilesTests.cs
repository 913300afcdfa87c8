using System.Text.Json.Nodes;
using TreePO.Core.Eval;
using TreePO.Core.Training;

namespace TreePO.Core.Tests.Training;

/// <summary>A run's summary.json and saved trees, written from core without a cluster.</summary>
public sealed class RunFilesTests : IDisposable
{
    readonly string runDir = TreePO.Testing.ScratchFolders.Create("treepo-runfiles-").FullName;

    public void Dispose() => Directory.Delete(runDir, recursive: true);

    [Fact]
    public void The_summary_names_the_run_its_scores_before_and_after_and_no_checkpoint_when_there_is_none()
    {
        var run = new RunIdentity("r1", "grpo", "group", NoRoot: false, "models/x", Seed: 7);
        EvalPoint[] evals = [new(0, 0.25, 0.5, 0.75, 16, 4), new(5, 0.5, 0.625, 0.875, 16, 4)];
        RunSummary.Write(runDir, run, evals, steps: 5, wallSeconds: 12.5, policyVersion: 5, skippedRows: 1, skippedPrompts: 2, resumedFromStep: -1);

        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(runDir, RunSummary.FileName)))!;
        Assert.Equal("r1", (string?)summary["run_id"]);
        Assert.Equal("grpo", (string?)summary["algo"]);
        Assert.Equal("group", (string?)summary["advantage"]);
        Assert.Equal(7UL, (ulong?)summary["seed"]);
        Assert.Equal(0, (int?)summary["eval_before"]!["step"]);
        Assert.Equal(0.25, (double?)summary["eval_before"]!["mean_at_k"]);
        Assert.Equal(5, (int?)summary["eval_after"]!["step"]);
        Assert.Equal(0.875, (double?)summary["eval_after"]!["pass_at_k"]);
        Assert.Equal(2, (int?)summary["skipped_prompts"]);
        Assert.Null(summary["checkpoint"]);
        Assert.Null(summary["resumed_from_step"]);
    }

    [Fact]
    public async Task Saved_trees_take_advantages_only_when_they_match_the_batch_and_a_step_without_trees_writes_an_empty_file()
    {
        var e = Assert.Throws<InvalidOperationException>(() => StepTrees.Apply([], null, [1.0]));
        Assert.Contains("0 raw and 1 normalised advantages for a batch of 0 trajectories", e.Message);
        StepTrees.Apply([], [], []);
        var e2 = Assert.Throws<InvalidOperationException>(() => StepTrees.Apply([], [], [], [0.5]));
        Assert.Contains("1 segment advantages for a batch of 0 response nodes", e2.Message);

        string path = await StepTrees.WriteAsync(runDir, 3, []);
        Assert.Equal(StepTrees.PathOf(runDir, 3), path);
        Assert.Equal("", File.ReadAllText(path));
        Assert.False(File.Exists(path + ".partial"));
    }
}
