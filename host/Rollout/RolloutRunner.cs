using System.Diagnostics;
using TreePO.Core.Advantage;
using TreePO.Core.Eval;
using TreePO.Core.Protocol;
using TreePO.Core.Reward;
using TreePO.Core.Trees;
using TreePO.Engine.Training;
using TreePO.Grains.Engines;
using TreePO.Grains.Trees;
using TreePO.Hosting.Models;
using TreePO.Hosting.Options;

namespace TreePO.Hosting.Rollout;

/// <summary>
/// `treepo rollout` without the console: tokenizes each question in the model's prompt format, starts one
/// <see cref="IQueryTreeGrain"/> per query (key "{batch}/{query}", at most <see cref="Concurrency"/> at once, so their
/// segment requests share engine batches), computes the batch's advantages (<see cref="Algo"/>), and writes
/// trees.jsonl (one TreeJson line per tree, input order) and summary.json to the output folder. A query whose prompt plus response budget does not fit the model's context is
/// skipped before it starts; a tree that fails is reported; either way the rest complete and the summary counts them.
/// </summary>
public sealed class RolloutRunner(IGrainFactory grains, ModelText text, TreePOOptions options, IRewardFunction? reward = null)
{
    public const string TreesFile = "trees.jsonl";
    public const string SummaryFile = "summary.json";

    readonly IRewardFunction reward = reward ?? new MathReward(options.RewardSettings());

    /// <summary>The batch part of every tree's key and id; same batch, seed and config give the same trees.</summary>
    public string BatchId { get; init; } = "rollout";

    /// <summary>Trees in flight at once.</summary>
    public int Concurrency { get; init; } = 64;

    /// <summary>How a tree that did not answer (its silo died) is asked again: it resumes on another silo from the
    /// snapshot of its last finished round; each tree asked more than once is counted as a restart. The runner is
    /// a client, so it starts and polls trees (<see cref="TreeAsk.Poll"/>).</summary>
    public TreeAsk Ask { get; init; } = TreeAsk.Default with { Poll = true };

    /// <summary>What the trees run on, for the summary.</summary>
    public string ClusterDescription { get; init; } = "";

    /// <summary>The advantage estimator written into trees.jsonl, named as `train --algo` names it: "treepo" (tree
    /// advantage, whitened over the batch) or "grpo" (group advantage per query). Null: the one training pairs with
    /// the sampling mode (tree: treepo, sequential: grpo).</summary>
    public string? Algo { get; init; }

    /// <summary>The estimator this runner uses for <paramref name="mode"/>.</summary>
    public string AlgoFor(SamplingMode mode) => Algo?.ToLowerInvariant() ?? (mode == SamplingMode.Sequential ? "grpo" : "treepo");

    public async Task<RolloutResult> RunAsync(RolloutInput input, string outDir, Action<RolloutProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var config = options.TreeConfig();
        var skipped = new List<string>(input.Skipped);
        var jobs = new List<TreeJob>();
        foreach (var item in input.Items)
        {
            int[] prompt = text.PromptIds(item);
            if (prompt.Length == 0) { skipped.Add($"query {item.Id}: the prompt is empty; skipped"); continue; }
            if (prompt.Length + config.ResponseBudget > text.MaxSequenceLength)
            {
                skipped.Add($"query {item.Id}: a prompt of {prompt.Length} tokens plus the response budget of {config.ResponseBudget} " +
                    $"(Tree:Depth x Tree:SegmentLength, or Tree:MaxResponseTokens) exceeds the model's context of {text.MaxSequenceLength} tokens; skipped");
                continue;
            }
            var query = new QueryItem(item.Id, item.Question, item.Answer, prompt);
            jobs.Add(TreeJob.For(query, config, SeedMix.Derive(options.Seed, "rollout", item.Id)));
        }

        var results = new TreeResult?[jobs.Count];
        var failures = new string?[jobs.Count];
        var gate = new object();
        int done = 0, failed = 0, trajectories = 0, restarts = 0;
        long decoded = 0;
        var clock = Stopwatch.StartNew();
        using var slots = new SemaphoreSlim(Math.Max(1, Concurrency));

        // Under the same lock as the count it reports: two trees ending together report 1/N and 2/N, in that order.
        void Report() => progress?.Invoke(new RolloutProgress(done, failed, jobs.Count, trajectories, decoded, clock.Elapsed));

        await Task.WhenAll(jobs.Select(async (job, i) =>
        {
            await slots.WaitAsync(cancellationToken);
            try
            {
                int asked = 0;
                var result = await Ask.RunAsync(grains, $"{BatchId}/{job.QueryId}", job,
                    _ => { if (asked++ == 0) Interlocked.Increment(ref restarts); }, cancellationToken);
                results[i] = result;
                lock (gate)
                {
                    done++;
                    trajectories += result.Trajectories;
                    decoded += result.UniqueTokens;
                    Report();
                }
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                failures[i] = $"query {job.QueryId}: the tree failed: {e.Message}";
                lock (gate)
                {
                    failed++;
                    Report();
                }
            }
            finally
            {
                slots.Release();
            }
        }));
        double wall = clock.Elapsed.TotalSeconds;
        skipped.AddRange(failures.OfType<string>());

        Directory.CreateDirectory(outDir);
        string treesPath = Path.Combine(outDir, TreesFile), summaryPath = Path.Combine(outDir, SummaryFile);
        var finished = results.OfType<TreeResult>().ToList();
        var trees = finished.Select(r => TreeJson.Read(r.TreeLine)).ToList();
        // The batch's advantages as a training step computes them (the trainer's own estimator options), over the
        // trees that finished: what an update on this batch would learn from.
        string algo = AlgoFor(config.Mode);
        var advantage = TrajectorySamples.AdvantageFor(algo);
        TreeAdvantage.Compute(trees, advantage);
        await File.WriteAllLinesAsync(treesPath, trees.Select(TreeJson.Write), cancellationToken);
        var summary = Summarize(input, config, skipped, trees, finished, wall, restarts, await EnginesAsync(finished)) with
        {
            Algo = algo,
            Advantage = advantage,
        };
        await File.WriteAllTextAsync(summaryPath, summary.ToJson(), cancellationToken);
        return new RolloutResult(summary, trees, treesPath, summaryPath);
    }

    RolloutSummary Summarize(RolloutInput input, TreeConfig config, List<string> skipped, List<SegmentTree> trees,
        List<TreeResult> results, double wall, int restarts, IReadOnlyList<EngineSummary> engines)
    {
        var m = BatchMetrics.Of(trees);
        var samples = trees.Where(t => t.Trajectories.Count > 0).Select(t => new QuerySamples(t.Query.Id,
            t.Trajectories.Select(x => reward.Score(t.ResponseText(x, text.Decoder), t.Query.Answer).Extracted).ToList(),
            t.Trajectories.Select(x => x.Correct).ToList())).ToList();
        var scores = SampleMetrics.Score(samples);
        return new RolloutSummary(
            Model: text.Folder,
            Source: input.Source,
            Cluster: ClusterDescription,
            Mode: config.Mode.ToString().ToLowerInvariant(),
            BatchId: BatchId,
            Seed: options.Seed,
            Config: config,
            Queries: input.Items.Count + input.Skipped.Count,
            Trees: trees.Count,
            Skipped: skipped.Count,
            SkippedReasons: skipped,
            Trajectories: m.Trajectories,
            WallSeconds: wall,
            TrajectoriesPerSecond: wall > 0 ? m.Trajectories / wall : 0,
            GeneratedTokens: m.GeneratedTokens,
            DecodedTokens: m.UniqueTokens,
            DecodedTokensPerSecond: wall > 0 ? m.UniqueTokens / wall : 0,
            ComputedTokens: m.PrefillTokens + m.DecodeTokens,
            PrefillTokens: m.PrefillTokens,
            ReusedTokens: m.ReusedTokens,
            RecomputedContextTokens: m.RecomputedTokens,
            TokenSavings: m.TokenSavings,
            Correct: m.Correct,
            Accuracy: m.Trajectories > 0 ? (double)m.Correct / m.Trajectories : 0,
            K: scores.K,
            MeanAtK: scores.MeanAtK,
            MajAtK: scores.MajAtK,
            PassAtK: scores.PassAtK,
            FallbackTreeRatio: m.FallbackTreeRatio,
            FallbackTrajectoryRatio: m.FallbackTrajectoryRatio,
            Failovers: results.Sum(r => r.Routing.Failovers),
            RetriedRequests: results.Sum(r => r.Routing.RetriedRequests),
            RecomputedTokens: results.Sum(r => r.Routing.RecomputedPrefixTokens),
            TreeRestarts: restarts,
            Engines: engines,
            ResumedTrees: results.Count(r => r.Recovery is { Resumed: true }),
            ResumedSegments: results.Sum(r => r.Recovery?.ResumedSegments ?? 0),
            RecomputedSegments: results.Sum(r => r.Recovery?.RecomputedSegments ?? 0),
            TreesStartedOver: results.Count(r => r.Recovery is { FromScratch: true }));
    }

    async Task<IReadOnlyList<EngineSummary>> EnginesAsync(List<TreeResult> results)
    {
        var keys = results.SelectMany(r => r.Routing.Engines).Distinct().Order(StringComparer.Ordinal).ToList();
        var list = new List<EngineSummary>();
        foreach (string key in keys)
        {
            try
            {
                var s = await grains.GetGrain<IEngineGrain>(key).GetStatsAsync().WaitAsync(TimeSpan.FromSeconds(5));
                list.Add(new EngineSummary(key, s.Requests, s.Counters.Steps, s.Counters.MeanBatchSize, s.Counters.MaxBatchSize));
            }
            catch (Exception) { /* an engine that is gone (its silo stopped) has no statistics left to report */ }
        }
        return list;
    }
}
