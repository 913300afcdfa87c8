using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orleans.TestingHost;
using TreePO.Core.Training;
using TreePO.Core.Trees;
using TreePO.Grains.Training;
using TreePO.Grains.Tests.Support;

namespace TreePO.Grains.Tests.Training;

public sealed class RunGrainTests
{
    static RunSpec Spec(string runId, string dir, int steps = 3, string? data = null, TreeConfig? tree = null) => new(
        runId, dir, TinyModelFolder.Path, data, null, TaskLevel: 1, Steps: steps, QueriesPerStep: 3, MaxExtraRounds: 1,
        TreeConfigJson: JsonSerializer.Serialize(tree ?? new TreeConfig { Width = 4, Depth = 2, SegmentLength = 4, Branch = 2 }, TreeJson.Options),
        Trainer: new TrainerSettings(LearningRate: 1e-3, WarmupSteps: 1, MiniBatches: 2),
        EvalEvery: 2, EvalQueries: 4, EvalK: 2, EvalTemperature: 1f, EvalMaxTokens: 8, CheckpointEvery: 1, Seed: 11);

    static string RunDir() => TreePO.Testing.ScratchFolders.Create("treepo-run-").FullName;

    static async Task<RunStatus> WaitAsync(IRunGrain run, Func<RunStatus, bool>? until = null, int pollMs = 100)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            var status = await run.GetStatusAsync();
            if (status.Done || (until?.Invoke(status) ?? false)) return status;
            Assert.True(DateTime.UtcNow < deadline, $"run {status.RunId} did not finish: {status.Phase} at step {status.Step}");
            await Task.Delay(pollMs);
        }
    }

    static List<string> MetricsWithoutTimings(string dir) =>
        File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")).Select(line =>
        {
            var obj = JsonNode.Parse(line)!.AsObject();
            foreach (string key in RunGrain.RunDependentKeys) obj.Remove(key);
            return obj.ToJsonString();
        }).ToList();

    [Fact]
    public async Task A_run_writes_every_promised_file_and_an_interrupted_run_resumes_to_the_same_metrics()
    {
        string straight = RunDir(), interrupted = RunDir();
        await using (var cluster = await TrainingClusters.StartAsync())
        {
            var run = cluster.Client.GetGrain<IRunGrain>("straight");
            await run.StartAsync(Spec("straight", straight), resume: false);
            var done = await WaitAsync(run);
            Assert.True(done.Phase == RunPhase.Finished, done.Error);
            Assert.Equal(3, done.Step);
            Assert.Equal(3, done.PolicyVersion);
            Assert.Equal([0, 2, 3], done.Evals.Select(e => e.Step));

            // The run folder.
            var lines = File.ReadAllLines(Path.Combine(straight, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
            Assert.Equal([0, 1, 2, 3], lines.Select(l => l["step"]!.GetValue<int>()));
            foreach (string key in new[] { "reward_mean", "accuracy", "response_length", "tokens_per_s", "trajectories", "fallback_ratio",
                         "filter_kept", "filter_all_correct", "filter_all_wrong", "loss", "clip_fraction", "grad_norm", "lr", "wall_s" })
                Assert.True(lines[1].ContainsKey(key), $"metrics line of step 1 has no {key}");
            // The default update is tree-packed with recomputed old log-probs, and says what it computed.
            Assert.True(lines[1]["packed"]!.GetValue<bool>());
            Assert.False(lines[1]["engine_old_logprobs"]!.GetValue<bool>());
            Assert.True(lines[1]["update_tokens"]!.GetValue<long>() < lines[1]["unpacked_tokens"]!.GetValue<long>(), lines[1].ToJsonString());
            Assert.True(lines[1]["update_s"]!.GetValue<double>() > 0);
            // While the KV fits, no step's rollout computes any context twice.
            foreach (var line in lines.Skip(1))
            {
                Assert.True(line["prefill_tokens"]!.GetValue<long>() > 0, line.ToJsonString());
                Assert.Equal(0, line["recomputed_tokens"]!.GetValue<long>());
            }
            Assert.NotEmpty(Directory.GetFiles(Path.Combine(straight, "tensorboard"), "events.out.tfevents.*"));
            for (int k = 1; k <= 3; k++)
                foreach (string file in new[] { "config.json", "model.safetensors", "optimizer.bin", "tokenizer.json", "tokenizer_config.json", RunState.FileName })
                    Assert.True(File.Exists(Path.Combine(straight, "checkpoints", $"step-{k}", file)), $"step-{k}/{file}");
            var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(straight, "summary.json")))!.AsObject();
            foreach (string part in new[] { "eval_before", "eval_after" })
                foreach (string key in new[] { "mean_at_k", "maj_at_k", "pass_at_k" })
                    Assert.InRange(summary[part]![key]!.GetValue<double>(), 0, 1);
            Assert.Equal(3, summary["steps"]!.GetValue<int>());
            Assert.True(summary["wall_s"]!.GetValue<double>() > 0);

            // The same run, stopped during step 2 or 3.
            var second = cluster.Client.GetGrain<IRunGrain>("interrupted");
            await second.StartAsync(Spec("interrupted", interrupted), resume: false);
            var stopped = await WaitAsync(second, s => s.Step >= 2, pollMs: 20);
            await second.CancelAsync();
            stopped = await WaitAsync(second);
            Assert.NotNull(RunState.Latest(interrupted));
        }
        // A new cluster (new engines, new trainer) resumes from the latest checkpoint.
        await using (var cluster = await TrainingClusters.StartAsync())
        {
            var run = cluster.Client.GetGrain<IRunGrain>("interrupted");
            await run.StartAsync(Spec("interrupted", interrupted), resume: true);
            var done = await WaitAsync(run);
            Assert.True(done.Phase == RunPhase.Finished, done.Error);
        }
        Assert.Equal(MetricsWithoutTimings(straight), MetricsWithoutTimings(interrupted));
        Assert.Equal(File.ReadAllBytes(Path.Combine(straight, "checkpoints", "step-3", "model.safetensors")),
            File.ReadAllBytes(Path.Combine(interrupted, "checkpoints", "step-3", "model.safetensors")));
    }

    [Fact]
    public async Task An_oversampled_filter_returns_the_queries_it_did_not_need_and_a_resumed_run_repeats_it()
    {
        // Oversample 2: the first round samples 6 queries for a batch of 3, keeps groups in draw order up to 3, and the
        // queries after the one that filled the batch go back to the data stream (the checkpoint's cursor).
        RunSpec Over(string id, string dir) => Spec(id, dir) with { Oversample = 2 };
        string straight = RunDir(), interrupted = RunDir();
        await using (var cluster = await TrainingClusters.StartAsync())
        {
            var run = cluster.Client.GetGrain<IRunGrain>("over-straight");
            await run.StartAsync(Over("over-straight", straight), resume: false);
            var done = await WaitAsync(run);
            Assert.True(done.Phase == RunPhase.Finished, done.Error);
            var lines = File.ReadAllLines(Path.Combine(straight, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).Skip(1).ToList();
            long cursor = 0;
            for (int k = 1; k <= 3; k++)
            {
                var line = lines[k - 1];
                int generated = line["filter_generated"]!.GetValue<int>(), returned = line["filter_returned"]!.GetValue<int>();
                int kept = line["filter_kept"]!.GetValue<int>(), dropped = line["filter_dropped"]!.GetValue<int>();
                Assert.True(generated + returned >= 6, line.ToJsonString());   // the first round drew 6
                Assert.Equal(generated, kept + dropped);                        // every judged query is kept or dropped
                Assert.Equal(kept < 3, line["filter_short"]!.GetValue<bool>());
                Assert.True(returned == 0 || kept == 3, line.ToJsonString());  // only a full batch gives queries back
                // The data cursor moved by the judged queries only: the returned ones are drawn again next step.
                cursor += generated;
                Assert.Equal(cursor, RunState.Load(Path.Combine(straight, "checkpoints", $"step-{k}")).DataCursor);
            }

            var second = cluster.Client.GetGrain<IRunGrain>("over-interrupted");
            await second.StartAsync(Over("over-interrupted", interrupted), resume: false);
            await WaitAsync(second, s => s.Step >= 1, pollMs: 20);
            await second.CancelAsync();
            await WaitAsync(second);
            Assert.NotNull(RunState.Latest(interrupted));
        }
        await using (var cluster = await TrainingClusters.StartAsync())
        {
            var run = cluster.Client.GetGrain<IRunGrain>("over-interrupted");
            await run.StartAsync(Over("over-interrupted", interrupted), resume: true);
            var done = await WaitAsync(run);
            Assert.True(done.Phase == RunPhase.Finished, done.Error);
        }
        Assert.Equal(MetricsWithoutTimings(straight), MetricsWithoutTimings(interrupted));
    }

    [Fact]
    public async Task Starting_the_same_run_again_while_it_runs_follows_it_and_another_spec_is_refused()
    {
        string dir = RunDir();
        try
        {
            await using var cluster = await TrainingClusters.StartAsync();
            var run = cluster.Client.GetGrain<IRunGrain>("twice");
            var spec = Spec("twice", dir, steps: 3);
            var first = await run.StartAsync(spec, resume: false);
            // What a client restarting a lost run meets when the run's reminder restarted it first.
            var again = await run.StartAsync(spec, resume: false);
            Assert.False(again.Done);
            Assert.Equal(first.Silo, again.Silo);
            var e = await Assert.ThrowsAnyAsync<Exception>(() => run.StartAsync(spec with { Steps = 5 }, resume: true));
            Assert.Contains("already running", e.Message);
            var done = await WaitAsync(run);
            Assert.True(done.Phase == RunPhase.Finished, done.Error);
            var logged = File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!["step"]!.GetValue<int>());
            Assert.Equal([0, 1, 2, 3], logged);   // one run, each step once
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task Bad_rows_and_long_prompts_are_counted_and_named_and_an_unworkable_config_is_refused()
    {
        string data = Path.Combine(RunDir(), "data.jsonl");
        using (var f = File.Create(data))
        {
            void Line(string s) => f.Write(Encoding.UTF8.GetBytes(s + "\n"));
            Line("""{"question": "Tom has 3 apples. He buys 2 more. How many apples does he have now?", "answer": "5"}""");
            Line("""{"question": "Ann has 4 pens. How many pens does she have now?"}""");
            f.Write([0xff, 0xfe, (byte)'{', (byte)'\n']);
            Line(JsonSerializer.Serialize(new { question = string.Concat(Enumerable.Repeat("Sam has 9 coins and more coins. ", 60)), answer = "1" }));
            Line("""{"question": "Mia has 6 cards. She loses 1. How many cards does she have now?", "answer": "5"}""");
        }
        await using var cluster = await TrainingClusters.StartAsync();
        var run = cluster.Client.GetGrain<IRunGrain>("rows");
        await run.StartAsync(Spec("rows", RunDir(), steps: 1, data: data), resume: false);
        var done = await WaitAsync(run);
        Assert.True(done.Phase == RunPhase.Finished, done.Error);
        Assert.Equal(2, done.SkippedRows);
        Assert.True(done.SkippedPrompts >= 1);
        Assert.Contains(done.Warnings, w => w.Contains("data.jsonl:2") && w.Contains("answer"));
        Assert.Contains(done.Warnings, w => w.Contains("data.jsonl:3") && w.Contains("UTF-8"));
        Assert.Contains(done.Warnings, w => w.Contains("data.jsonl:4") && w.Contains("does not fit"));   // rows without an id are named by file:line

        foreach (var (tree, why) in new[]
                 {
                     (new TreeConfig { Width = 4, Depth = 2, SegmentLength = 0, Branch = 2 }, "SegmentLength"),
                     (new TreeConfig { Width = 2, Depth = 2, SegmentLength = 4, Branch = 4 }, "smaller than b"),
                     (new TreeConfig { Width = 4, Depth = 200, SegmentLength = 4, Branch = 2 }, "d*l"),
                 })
        {
            var e = await Assert.ThrowsAnyAsync<Exception>(() => cluster.Client.GetGrain<IRunGrain>("bad-" + why).StartAsync(
                Spec("bad-" + why, RunDir(), tree: tree), resume: false));
            Assert.Contains(why, e.Message);
        }
    }
}
