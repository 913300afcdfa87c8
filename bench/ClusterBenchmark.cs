using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using Spectre.Console.Cli;
using TreePO.Bench.Common;
using TreePO.Core.Protocol;
using TreePO.Core.Reward;
using TreePO.Core.Trees;
using TreePO.Engine;
using TreePO.Grains.Trees;
using TreePO.Hosting;
using TreePO.Hosting.Engines;
using TreePO.Hosting.Models;
using TreePO.Hosting.Options;
using TreePO.Hosting.Rollout;

namespace TreePO.Bench;

/// <summary>
/// `bench cluster`: the cost of the grains. One rollout workload (the built-in task's held-out queries, the tree
/// options) runs through the cluster (an embedded silo: tree grains, routing, the engine grain) and through the same
/// TreeSampler calling an InferenceEngine directly, with identical engine options, alternating repetitions after one
/// untimed warm-up of each. Both paths must produce the same trees. Reports trajectories/s and decoded tokens/s of
/// each and their ratio (goal: grains at least 0.95 of direct). Options: --queries N (16), --reps N (5),
/// --model DIR (default: Model:Path, else the built-in model), --random-weights (a random tiny model instead, said in
/// every table), --out cluster.json, and --section.key=value overrides.
/// </summary>
public sealed class ClusterBenchmark : AsyncCommand<ClusterBenchmark.Settings>
{
    sealed record Rep(string Path, int Index, double Seconds, int Trajectories, long DecodedTokens, long Steps, double MeanBatch);

    public sealed class Settings : BenchSettings, ITakesOptionOverrides
    {
        [CommandOption("--queries <N>"), Description("Built-in held-out queries (default 16).")] public int Queries { get; init; } = 16;
        [CommandOption("--reps <N>"), Description("Timed repetitions per path (default 5).")] public int Reps { get; init; } = 5;
        [CommandOption("--model <DIR>"), Description("Model folder (default: Model:Path, else the built-in model).")] public string? Model { get; init; }
        [CommandOption("--random-weights"), Description("A random tiny model instead, said in every table.")] public bool RandomWeights { get; init; }
        [CommandOption("--out <FILE>")] public string Out { get; init; } = "cluster.json";

        protected override void Check(List<string> problems)
        {
            AtLeast(problems, "--queries", Queries, 1);
            AtLeast(problems, "--reps", Reps, 1);
            if (RandomWeights && Model is not null) problems.Add("--random-weights and --model name two different models: give one");
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var (overrides, _) = TreePOConfiguration.SplitOverrides(OptionOverrides.Captured);
        int queries = settings.Queries, reps = settings.Reps;
        string? model = settings.Model;
        bool randomWeights = settings.RandomWeights;
        string outPath = settings.Out;
        TreePOOptions options;
        try { options = TreePOConfiguration.Bind(new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddTreePOSources(overrides).Build()); }
        catch (TreePOOptionsException e) { AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]"); return 2; }

        string modelNote;
        if (randomWeights)
        {
            options.Model.Path = RandomTinyModel.Write(Directory.CreateTempSubdirectory("treepo-bench-model-").FullName);
            modelNote = $"{BenchModel.RandomWeightsLabel}: a random tiny model written to {options.Model.Path}";
        }
        else
        {
            if (model is not null) options.Model.Path = model;
            try { options.Model.Path = ModelFolder.Resolve(options.Model.Path); }
            catch (ModelFolderException e)
            {
                AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/] (or --random-weights to measure a random tiny model)");
                return 2;
            }
            modelNote = $"model {options.Model.Path}";
        }
        var text = ModelText.Load(ModelFolder.Resolve(options.Model.Path), options);
        options.Model.Path = text.Folder;
        var config = options.TreeConfig();
        var input = RolloutInput.BuiltIn(options.Seed, queries);
        var jobs = input.Items.Select(item => TreeJob.For(new QueryItem(item.Id, item.Question, item.Answer, text.PromptIds(item.Question)),
            config, SeedMix.Derive(options.Seed, "rollout", item.Id))).ToList();
        AnsiConsole.MarkupLine(Markup.Escape($"cluster benchmark: {modelNote}"));
        AnsiConsole.MarkupLine(Markup.Escape($"{queries} queries, {config.Mode.ToString().ToLowerInvariant()} w={config.Width} d={config.Depth} " +
            $"l={config.SegmentLength} b={config.Branch}, {reps} timed repetitions per path, alternating"));

        await using var silo = await EmbeddedSilo.StartAsync(options);
        await using var engine = InferenceEngine.Load(InferenceEngineBackendFactory.EngineOptionsFor(options, text));

        // Both paths name trees alike ("bench/{query}"), so their node ids, seeds and samples are the same.
        async Task<(double Seconds, List<SegmentTree> Trees)> GrainsAsync()
        {
            var clock = Stopwatch.StartNew();
            var results = await Task.WhenAll(jobs.Select(j => silo.Client.GetGrain<IQueryTreeGrain>($"bench/{j.QueryId}").RunAsync(j)));
            double seconds = clock.Elapsed.TotalSeconds;
            return (seconds, [.. results.Select(r => TreeJson.Read(r.TreeLine))]);
        }
        async Task<(double Seconds, List<SegmentTree> Trees)> DirectAsync()
        {
            var clock = Stopwatch.StartNew();
            var trees = await Task.WhenAll(jobs.Select(async j =>
            {
                var tree = await new TreeSampler(j.Config(), engine, text.Decoder, text.StopIds).RunAsync(j.Query, $"bench/{j.QueryId}", j.Seed, j.PolicyVersion);
                tree.Score(MathReward.PlusMinusOne, text.Decoder);   // as the tree grain does
                return tree;
            }));
            return (clock.Elapsed.TotalSeconds, [.. trees]);
        }

        // Engine steps and sequences stepped so far (mean batch x steps), of the path's engine.
        async Task<(long Steps, double Batched)> StepsAsync(string path)
        {
            if (path == "direct") { var s = engine.GetStats(); return (s.Steps, s.MeanBatchSize * s.Steps); }
            var key = TreePO.Grains.Placement.SiloKey.For(silo.Services.GetRequiredService<Orleans.Runtime.ILocalSiloDetails>().SiloAddress, 0);
            var c = (await silo.Client.GetGrain<TreePO.Grains.Engines.IEngineGrain>(key).GetStatsAsync()).Counters;
            return (c.Steps, c.MeanBatchSize * c.Steps);
        }

        var warmGrains = await GrainsAsync();
        var warmDirect = await DirectAsync();
        bool sameTrees = warmGrains.Trees.Select(Signature).SequenceEqual(warmDirect.Trees.Select(Signature));
        var runs = new List<Rep>();
        for (int r = 0; r < reps; r++)
        {
            foreach (var (name, run) in r % 2 == 0
                ? new[] { ("grains", (Func<Task<(double, List<SegmentTree>)>>)GrainsAsync), ("direct", DirectAsync) }
                : [("direct", DirectAsync), ("grains", GrainsAsync)])
            {
                var before = await StepsAsync(name);
                var (seconds, trees) = await run();
                var after = await StepsAsync(name);
                var m = BatchMetrics.Of(trees);
                long steps = after.Steps - before.Steps;
                double meanBatch = steps > 0 ? (after.Batched - before.Batched) / steps : 0;
                runs.Add(new Rep(name, r, seconds, m.Trajectories, m.UniqueTokens, steps, meanBatch));
                AnsiConsole.MarkupLine(Markup.Escape(
                    $"  rep {r + 1} {name}: {seconds:F2} s, {m.Trajectories} trajectories, {m.UniqueTokens} decoded tokens, {steps} engine steps of {meanBatch:F1} sequences"));
            }
        }

        double Median(string path) { var xs = runs.Where(x => x.Path == path).Select(x => x.Seconds).Order().ToList(); return xs.Count % 2 == 1 ? xs[xs.Count / 2] : (xs[xs.Count / 2 - 1] + xs[xs.Count / 2]) / 2; }
        double Best(string path) => runs.Where(x => x.Path == path).Min(x => x.Seconds);
        double grains = Median("grains"), direct = Median("direct");
        var work = BatchMetrics.Of(warmDirect.Trees);
        // Same work on both paths, so throughput ratio = inverse time ratio. On a shared machine noise only ever adds
        // time, so the best repetition is reported next to the median.
        double ratio = direct / grains, bestRatio = Best("direct") / Best("grains");

        var table = new Table().AddColumns("path", "median s", "best s", "trajectories/s (median)", "decoded tokens/s (median)");
        if (randomWeights) table.Title($"[red]{BenchModel.RandomWeightsLabel}[/]");
        foreach (var (name, path, s) in new[] { ("grains (embedded silo)", "grains", grains), ("direct InferenceEngine", "direct", direct) })
            table.AddRow(name, s.ToString("F2"), Best(path).ToString("F2"), (work.Trajectories / s).ToString("F1"), (work.UniqueTokens / s).ToString("F0"));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine(Markup.Escape($"throughput ratio grains/direct: {ratio:F3} by medians, {bestRatio:F3} by best repetitions (goal >= 0.95)"));
        AnsiConsole.MarkupLine(Markup.Escape($"same trees on both paths: {(sameTrees ? "yes" : "NO")}"));

        var json = new
        {
            model = text.Folder,
            model_note = modelNote,
            random_weights = randomWeights,
            queries,
            reps,
            config,
            trajectories = work.Trajectories,
            decoded_tokens = work.UniqueTokens,
            generated_tokens = work.GeneratedTokens,
            grains_median_s = grains,
            direct_median_s = direct,
            grains_trajectories_per_s = work.Trajectories / grains,
            direct_trajectories_per_s = work.Trajectories / direct,
            ratio,
            grains_best_s = Best("grains"),
            direct_best_s = Best("direct"),
            best_ratio = bestRatio,
            same_trees = sameTrees,
            runs = runs.Select(x => new
            {
                path = x.Path, rep = x.Index, seconds = x.Seconds, trajectories = x.Trajectories, decoded_tokens = x.DecodedTokens,
                engine_steps = x.Steps, mean_batch = x.MeanBatch,
            }),
        };
        File.WriteAllText(outPath, JsonSerializer.Serialize(json, new JsonSerializerOptions(TreeJson.Options) { WriteIndented = true }));
        AnsiConsole.MarkupLine(Markup.Escape($"wrote {Path.GetFullPath(outPath)}"));
        return 0;
    }

    /// <summary>A tree's nodes and tokens: what must match between the two paths (log-probs round differently with the batch).</summary>
    static string Signature(SegmentTree t) => string.Join("|", t.Nodes.Select(n => $"{n.Id}:{string.Join(",", n.Tokens)}"));
}
