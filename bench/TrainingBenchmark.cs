using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using TreePO.Bench.Common;
using TreePO.Core.Protocol;
using TreePO.Core.Trees;
using TreePO.Grains.Training;
using TreePO.Hosting;
using TreePO.Hosting.Models;
using TreePO.Hosting.Options;
using TreePO.Hosting.Reporting;
using Panel = TreePO.Hosting.Reporting.Panel;
using TreePO.Hosting.Training;

namespace TreePO.Bench;

/// <summary>
/// `bench training`: `treepo train --algo treepo` against `--algo grpo` on the same model, seed, data, step budget,
/// queries per step, w, d x l and trainer settings (all `treepo train`'s defaults, read from its options tree:
/// CommandOptions.ForTrain), in one embedded silo. Each run is cut into chunks at step boundaries (a chunk ends with a checkpoint; the next resumes
/// it) and the chunks alternate T G G T ..., so a machine that drifts favours neither. Held-out mean@k against the
/// training wall time (evaluation excluded) and against the rollouts' computed tokens; the time each needs to reach
/// GRPO's final accuracy. Options: --steps, --eval-every (default a tenth of the steps), --eval-queries, --seeds (a
/// list; one pair of runs per seed, the headline on the curves averaged over seeds), --chunks, --queries, --slots
/// (engine slots; 0: the engine's default), --model, --runs (run folders, deleted first), --out, --png, --no-warmup.
/// Over 400 lines on purpose: the run schedule, the time-to-accuracy figures and the report are one measurement read
/// in order; its reusable pieces (curves, JSON, the machine) already live in bench/Common.
/// </summary>
public sealed class TrainingBenchmark : AsyncCommand<TrainingBenchmark.Settings>
{
    static readonly string[] Algos = ["treepo", "grpo"];

    /// <summary>A warm-up pair: a TreePO and a GRPO run of this many steps of the timed runs' queries; at most this many
    /// pairs. A pair is quiet under <see cref="WarmupSettledShare"/> of JIT, not the sampling benchmarks' 1 %: every
    /// run's start compiles 50-90 ms of methods called once a run (activations, the trainer's model, options
    /// binding), which tier up only after thirty runs, while the steps' methods have settled.</summary>
    const int WarmupSteps = 4, MostWarmupPairs = 12;
    const double WarmupSettledShare = 0.05;

    /// <summary>`treepo train`'s defaults (the options tree's Run section).</summary>
    static readonly RunOptions D = new();

    public sealed class Settings : BenchSettings
    {
        [CommandOption("--steps <N>"), Description("Training steps of each run (default: treepo train's at the level).")] public int? Steps { get; init; }
        [CommandOption("--eval-every <N>"), Description("Steps between held-out evaluations (default: a tenth of the steps).")] public int? EvalEvery { get; init; }
        [CommandOption("--queries <N>"), Description("Queries per step (default: treepo train's).")] public int Queries { get; init; } = D.QueriesPerStep;
        [CommandOption("--eval-queries <N>"), Description("Held-out queries (default: treepo train's).")] public int EvalQueries { get; init; } = D.EvalQueries;
        /// <summary>`treepo train`'s seed; `--seeds 1,2,3` repeats the pair per seed (the headline then averages the curves).</summary>
        [CommandOption("--seeds <LIST>"), Description("One pair of runs per seed (default: treepo train's seed).")]
        public string Seeds { get; init; } = new TreePOOptions().Seed.ToString(System.Globalization.CultureInfo.InvariantCulture);
        [CommandOption("--chunks <N>"), Description("Chunks each run is cut into, alternating T G G T (default 2).")] public int Chunks { get; init; } = 2;
        [CommandOption("--no-warmup"), Description("No untimed warm-up runs: the timed runs then include the JIT's work.")] public bool NoWarmup { get; init; }
        [CommandOption("--slots <N>"), Description("Engine slots (default 0: the engine's default, as treepo train runs it).")] public int Slots { get; init; }
        [CommandOption("--model <DIR>"), Description("Model folder (default: Model:Path, else the built-in model).")] public string Model { get; init; } = "";
        [CommandOption("--level <N>"), Description("Built-in task level (default: treepo train's, Run:TaskLevel); 5, the deep level, brings its model, segments and budget as train does.")]
        public int? Level { get; init; }
        [CommandOption("--runs <DIR>"), Description("Run folders, deleted first.")] public string Runs { get; init; } = Path.Combine(D.RunsDir, "bench-training");
        [CommandOption("--out <FILE>")] public string Out { get; init; } = "training.json";
        [CommandOption("--png <FILE>")] public string Png { get; init; } = "training.png";

        protected override void Check(List<string> problems)
        {
            if (Steps is { } steps) AtLeast(problems, "--steps", steps, 1);
            if (EvalEvery is { } every) AtLeast(problems, "--eval-every", every, 1);
            AtLeast(problems, "--queries", Queries, 1);
            AtLeast(problems, "--eval-queries", EvalQueries, 1);
            IntList("--seeds", Seeds, 0, problems);
            AtLeast(problems, "--chunks", Chunks, 1);
            AtLeast(problems, "--slots", Slots, 0);
            LevelCheck(problems, Level);
        }
    }

    sealed record Options(string Model, int? Level, int Steps, int Queries, int EvalEvery, int EvalQueries, ulong[] Seeds, int Chunks, bool Warmup,
        int Slots, string RunsDir, string Out, string Png)
    {
        public static Options From(Settings a, int steps) => new(
            a.Model, a.Level, steps, a.Queries, a.EvalEvery ?? Math.Max(1, steps / 10), a.EvalQueries,
            [.. BenchSettings.IntList("--seeds", a.Seeds).Distinct().Select(x => (ulong)x)],
            a.Chunks, !a.NoWarmup, a.Slots, a.Runs, a.Out, a.Png);
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        Options o;
        try { o = Options.From(settings, settings.Steps ?? CommandOptions.ForTrain(settings.Level).Run.Steps); }
        catch (TreePOOptionsException e) { return Fail(e.Message); }
        if (Model(o.Model, o.Level) is not { } model) return 2;

        TreePOOptions siloOptions;
        try { siloOptions = Silo(model, o.Slots, o.Level); }
        catch (TreePOOptionsException e) { return Fail(e.Message); }
        string runsDir = Path.GetFullPath(o.RunsDir);
        var specs = o.Seeds.SelectMany(seed => Algos.Select(a => Spec(o, a, seed, model, runsDir))).ToDictionary(x => x.RunId);
        foreach (var spec in specs.Values)
        {
            var errors = RunSpecCheck.Validate(spec, 0);
            if (errors.Count > 0) return Fail($"{spec.RunId}: " + string.Join("; ", errors));
        }
        int[] boundaries = Boundaries(o.Steps, o.Chunks);
        var order = new List<(string RunId, int Until)>();
        for (int i = 0; i < o.Seeds.Length; i++)
            for (int c = 0; c < boundaries.Length; c++)
                foreach (string algo in (c + i) % 2 == 0 ? Algos : Algos.Reverse())
                    order.Add((RunId(algo, o.Seeds[i]), boundaries[c]));

        var machine = Machine.Describe(Environment.ProcessorCount);
        AnsiConsole.MarkupLine($"[bold]training benchmark[/] on {Markup.Escape(machine.ToString())}");
        var first = specs.Values.First();
        var t = RunSpecCheck.TreeConfigOf(first);
        AnsiConsole.MarkupLine($"model {Markup.Escape(model)}; built-in task level {first.TaskLevel}; {o.Steps} steps x {o.Queries} queries, w={t.Width}, d={t.Depth} x l={t.SegmentLength}, " +
            $"b={t.Branch} (grpo: {t.Width} independent samples); held-out mean@{first.EvalK} on {o.EvalQueries} queries every {o.EvalEvery} steps; " +
            $"seeds {string.Join(", ", o.Seeds)}");
        AnsiConsole.MarkupLine($"order: {string.Join(" ", order.Select(x => $"{x.RunId}->{x.Until}"))}");

        var counter = new RolloutTokenCounter();
        JitWarmup.Result warmup;
        JitActivity timedJit;
        await using var silo = await StartSiloAsync(siloOptions, counter);
        var client = silo.Client;
        try
        {
            // Untimed pairs of short runs (TreePO, then GRPO) until the JIT has settled. One short run each was not
            // enough: the first timed run's updates then ran up to 0.8 s a step instead of 0.1-0.2 for about twenty
            // steps while tier-1 recompilation shared the cores, and the first run is always TreePO's.
            warmup = await JitWarmup.RunAsync(async pair =>
            {
                var start = JitActivity.Now();
                var clock = System.Diagnostics.Stopwatch.StartNew();
                foreach (string algo in Algos)
                {
                    var w = Spec(o, algo, o.Seeds[0], model, runsDir) with
                    {
                        RunId = $"warmup-{algo}-{pair}",
                        RunDir = Path.Combine(runsDir, "warmup-" + algo),
                        Steps = WarmupSteps,
                        EvalQueries = Math.Min(4, o.EvalQueries),
                        EvalEvery = 0,
                    };
                    Reset(w.RunDir);
                    await RunChunkAsync(client, w, resume: false, quiet: true);
                }
                return (JitActivity.Now().Since(start), clock.Elapsed.TotalSeconds);
            }, least: o.Warmup ? 1 : 0, most: MostWarmupPairs, share: WarmupSettledShare,
                onPair: (n, jit, seconds) => AnsiConsole.MarkupLine($"[dim]warm-up pair {n}: JIT {jit.Methods:N0} methods, {jit.Milliseconds:F0} ms of {seconds:F1} s[/]"));
            AnsiConsole.MarkupLine($"[dim]{warmup.Markup()}[/]");
            var timed = JitActivity.Now();
            foreach (var spec in specs.Values) Reset(spec.RunDir);
            var started = new HashSet<string>();
            foreach (var (runId, until) in order)
                await RunChunkAsync(client, specs[runId] with { Steps = until }, resume: !started.Add(runId), quiet: false);
            timedJit = JitActivity.Now().Since(timed);
            AnsiConsole.MarkupLine($"[dim]JIT during the timed runs: {timedJit.Methods:N0} methods, {timedJit.Milliseconds:F0} ms[/]");
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            return Fail(e.Message);
        }

        var curves = specs.Values.ToDictionary(x => x.RunId, x => TrainingCurve.Read(x.Trainer.Algo, x.RunDir, x.RunId, counter));
        var mean = Algos.ToDictionary(a => a, a => TrainingCurve.Average(a, [.. o.Seeds.Select(seed => curves[RunId(a, seed)])]));
        var perSeed = o.Seeds.Select(seed => (Seed: seed, Summary: Summary.Of(curves[RunId("treepo", seed)], curves[RunId("grpo", seed)]))).ToList();
        var summary = Summary.Of(mean["treepo"], mean["grpo"]);
        foreach (var (seed, s) in perSeed)
            Print($"seed {seed}", [curves[RunId("treepo", seed)], curves[RunId("grpo", seed)]], s);
        if (o.Seeds.Length > 1) Print($"mean over seeds {string.Join(", ", o.Seeds)}", [mean["treepo"], mean["grpo"]], summary);
        string png = Plot(o.Png, mean, summary, o.Seeds.Length);
        string path = BenchJson.Write(o.Out, new
        {
            benchmark = "training",
            machine = BenchJson.MachineJson(machine),
            workload = new
            {
                model,
                task_level = first.TaskLevel,
                steps = o.Steps,
                queries_per_step = o.Queries,
                extra_rounds = first.MaxExtraRounds,
                tree = JsonNode.Parse(specs[RunId("treepo", o.Seeds[0])].TreeConfigJson),
                grpo_tree = JsonNode.Parse(specs[RunId("grpo", o.Seeds[0])].TreeConfigJson),
                trainer = first.Trainer with { Algo = "treepo|grpo" },
                eval_every = o.EvalEvery,
                eval_queries = o.EvalQueries,
                eval_k = first.EvalK,
                eval_temperature = first.EvalTemperature,
                eval_max_tokens = first.EvalMaxTokens,
                seeds = o.Seeds,
                chunks = boundaries.Length,
                order = order.Select(x => $"{x.RunId}->{x.Until}"),
                warmup = warmup.ToJson(),
                timed_jit_methods = timedJit.Methods,
                timed_jit_ms = timedJit.Milliseconds,
                engine_slots = siloOptions.Engine.MaxSlots,
                engine_kv_budget_mb = siloOptions.Engine.KvBudgetMB,
            },
            measures = new
            {
                train_wall_s = "the run grain's wall clock (wall_s) less every held-out evaluation so far (eval_s): rollouts, training, weight sync, logging, checkpoints",
                computed_tokens = "rollout forward-pass tokens, prefill + decode, as each tree's engine requests reported them (TreeResult.Routing), every filter round; evaluation excluded",
                per_step = "every per-step figure (steps, evaluations) is cumulative from the start of the run",
                time_to_target = "first evaluated step whose held-out mean@k reaches GRPO's final mean@k (resolution: the eval cadence)",
                curve_mean_at_k = "held-out mean@k averaged over the evaluations after step 0: less noisy than the final point",
                filter = "queries the filter sampled (every round), kept, and dropped as all correct or all wrong",
                mean = "the headline: curves averaged step by step over the seeds, then the same time-to-target rule",
            },
            mean = SummaryJson(summary, mean["treepo"], mean["grpo"]),
            seeds = perSeed.Select(x => new
            {
                seed = x.Seed,
                summary = SummaryJson(x.Summary, curves[RunId("treepo", x.Seed)], curves[RunId("grpo", x.Seed)]),
                runs = Algos.Select(a => RunJson(curves[RunId(a, x.Seed)], specs[RunId(a, x.Seed)],
                    curves[RunId(a, x.Seed)].Evaluated.Sum(p => counter.Evaluation(RunId(a, x.Seed), p.Step).Computed))),
            }),
            goals = summary.Goals.Select(g => new { goal = g.Name, target = g.Target, measured = g.Measured, met = g.Met }),
            plot = png,
        });
        AnsiConsole.MarkupLine($"wrote {Markup.Escape(path)} and {Markup.Escape(png)}");
        return 0;
    }

    static string RunId(string algo, ulong seed) => $"{algo}-seed{seed}";

    static object SummaryJson(Summary s, TrainingCurve tree, TrainingCurve grpo) => new
    {
        target_mean_at_k = s.Target,
        grpo_reaches = PointJson(s.GrpoReach),
        treepo_reaches = s.TreeReach is { } tr ? PointJson(tr) : null,
        final = new { treepo = PointJson(tree.FinalEval), grpo = PointJson(grpo.FinalEval) },
        totals = new { treepo = TotalsJson(tree.Last), grpo = TotalsJson(grpo.Last) },
        curve_mean_at_k = new { treepo = tree.CurveMean, grpo = grpo.CurveMean },
        filter = new { treepo = FilterJson(tree.Filter), grpo = FilterJson(grpo.Filter) },
        evaluations = new { treepo = tree.Evaluated.Select(PointJson), grpo = grpo.Evaluated.Select(PointJson) },
        ratios = new
        {
            time_to_target = s.TimeRatio,
            computed_tokens_to_target = s.TokenRatio,
            total_train_wall = s.TotalTimeRatio,
            total_computed_tokens = s.TotalTokenRatio,
            total_rollout_s = s.RolloutRatio,
            total_train_s = s.TrainRatio,
        },
    };

    static object FilterJson(FilterShares f) => new
    {
        generated = f.Generated,
        kept = f.Kept,
        all_correct = f.AllCorrect,
        all_wrong = f.AllWrong,
        kept_share = f.KeptShare,
        all_correct_share = f.AllCorrectShare,
        all_wrong_share = f.AllWrongShare,
    };

    static object TotalsJson(CurvePoint l) => new
    {
        train_wall_s = l.TrainWallSeconds,
        wall_s = l.WallSeconds,
        rollout_s = l.RolloutSeconds,
        train_s = l.TrainSeconds,
        sync_s = l.SyncSeconds,
        eval_s = l.EvalSeconds,
        computed_tokens = l.ComputedTokens,
        prefill_tokens = l.PrefillTokens,
        decode_tokens = l.DecodeTokens,
        generated_tokens = l.GeneratedTokens,
        train_tokens = l.TrainTokens,
    };

    /// <summary>The run spec `treepo train --algo ALGO` builds from its defaults, with the benchmark's steps, queries,
    /// evaluation and seed; GRPO samples the same budget as w sequences that share only the prompt.</summary>
    static RunSpec Spec(Options o, string algo, ulong seed, string model, string runsDir)
    {
        string id = RunId(algo, seed);
        return TrainRun(id, Path.Combine(runsDir, id), model, o.Level, seed, o.Steps, o.Queries, o.EvalEvery, o.EvalQueries, x => x.Run.Algo = algo);
    }

    /// <summary>`treepo train`'s spec from its options tree (defaults, appsettings.json, TREEPO__*), with a
    /// benchmark's run length, evaluation and seed, after <paramref name="variant"/> changed what it compares.</summary>
    internal static RunSpec TrainRun(string id, string runDir, string model, int? level, ulong seed, int steps, int queries, int evalEvery, int evalQueries,
        Action<TreePOOptions> variant)
    {
        var options = CommandOptions.ForTrain(level);
        var r = options.Run;
        if (level is { } l) r.TaskLevel = l;
        (r.Steps, r.QueriesPerStep, r.EvalEvery, r.EvalQueries, r.CheckpointEvery, options.Seed) = (steps, queries, evalEvery, evalQueries, 0, seed);
        variant(options);
        return TrainSpec.Build(options, id, runDir, model, null, null);
    }

    /// <summary>The embedded silo's options as `treepo train` reads them (its defaults under appsettings.json and
    /// TREEPO__* variables), serving the run's model.</summary>
    internal static TreePOOptions Silo(string model, int slots, int? level)
    {
        var options = TreePO.Hosting.Training.CommandOptions.ForTrain(level);
        options.Model.Path = model;
        if (slots > 0) options.Engine.MaxSlots = slots;
        return options;
    }

    /// <summary>The model folder to train (`--model`, else `treepo train`'s for the level: Model:Path, else the
    /// built-in one), or null after saying why not.</summary>
    internal static string? Model(string given, int? level)
    {
        try { return ModelFolder.Resolve(given.Length == 0 ? CommandOptions.ForTrain(level).Model.Path : given); }
        catch (Exception e) when (e is ModelFolderException or TreePOOptionsException)
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]");
            return null;
        }
    }

    internal static void LevelCheck(List<string> problems, int? level)
    {
        if (level is { } l && l is < 1 or > TreePO.Core.Tasks.ArithmeticDifficulty.MaxLevel)
            problems.Add($"--level must be 1 to {TreePO.Core.Tasks.ArithmeticDifficulty.MaxLevel}, got {l}");
    }

    /// <summary>The embedded silo the runs share, counting every tree's rollout tokens; grain calls may take 10 min.</summary>
    internal static Task<EmbeddedSilo> StartSiloAsync(TreePOOptions options, RolloutTokenCounter counter) =>
        EmbeddedSilo.StartAsync(options, s =>
        {
            s.Services.Configure<SiloMessagingOptions>(m => m.ResponseTimeout = TimeSpan.FromMinutes(10));
            s.AddIncomingGrainCallFilter(counter);
        });

    /// <summary>Chunk ends: steps split as evenly as whole steps allow, at most one chunk per step.</summary>
    internal static int[] Boundaries(int steps, int chunks)
    {
        chunks = Math.Min(chunks, steps);
        return [.. Enumerable.Range(1, chunks).Select(c => (int)Math.Round((double)steps * c / chunks)).Distinct()];
    }

    /// <summary>Starts (or resumes from its latest checkpoint) a run with spec.Steps as its end and follows it to the end.</summary>
    internal static async Task RunChunkAsync(IClusterClient client, RunSpec spec, bool resume, bool quiet)
    {
        var run = client.GetGrain<IRunGrain>(spec.RunId);
        var status = await run.StartAsync(spec, resume);
        string? shown = status.LastMetrics;
        while (true)
        {
            // One line per metrics line the run writes (the status's step moves before the line is written).
            if (!quiet && status.LastMetrics is not null && status.LastMetrics != shown)
            {
                shown = status.LastMetrics;
                AnsiConsole.WriteLine(Line(spec.RunId, status));
            }
            if (status.Done) break;
            await Task.Delay(250);
            status = await run.GetStatusAsync();
        }
        if (status.Phase != RunPhase.Finished)
            throw new InvalidOperationException($"run {spec.RunId} {status.Phase.ToString().ToLowerInvariant()} at step {status.Step}: {status.Error}");
    }

    static string Line(string algo, RunStatus s)
    {
        var m = JsonNode.Parse(s.LastMetrics!)!.AsObject();
        string F(string key, string format) => m[key] is JsonValue v && v.TryGetValue(out double d) ? d.ToString(format) : "-";
        string eval = m["eval_mean_at_k"] is not null ? $", held-out mean@k {F("eval_mean_at_k", "P1")}" : "";
        return $"  {algo,-6} step {m["step"]}/{s.Steps}: rollout {F("rollout_s", "F1")} s, train {F("train_s", "F1")} s, " +
            $"{F("trajectories", "F0")} trajectories, acc {F("accuracy", "P1")}, wall {F("wall_s", "F0")} s{eval}";
    }

    internal static void Reset(string runDir)
    {
        // Only the benchmark's own run folders; a stale checkpoint would be resumed from.
        if (Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);
    }

    static int Fail(string message)
    {
        AnsiConsole.MarkupLine($"[red]{Markup.Escape(message)}[/]");
        return 1;
    }

    /// <summary>A goal of the issue; <see cref="Measured"/> is null when TreePO never reached the target.</summary>
    sealed record Goal(string Name, string Target, double? Measured, bool Met);

    sealed record Summary(double Target, CurvePoint GrpoReach, CurvePoint? TreeReach, double? TimeRatio, double? TokenRatio,
        double TotalTimeRatio, double TotalTokenRatio, double RolloutRatio, double TrainRatio, double TreeFinal, double GrpoFinal,
        IReadOnlyList<Goal> Goals)
    {
        public static Summary Of(TrainingCurve tree, TrainingCurve grpo)
        {
            double target = grpo.FinalEval.MeanAtK!.Value;
            var grpoReach = grpo.FirstReaching(target)!;
            var treeReach = tree.FirstReaching(target);
            double? Ratio(double? a, double b) => a is { } x && b > 0 ? x / b : null;
            double? time = Ratio(treeReach?.TrainWallSeconds, grpoReach.TrainWallSeconds);
            double? tokens = Ratio(treeReach?.ComputedTokens, grpoReach.ComputedTokens);
            double treeFinal = tree.FinalEval.MeanAtK!.Value;
            var goals = new List<Goal>
            {
                new("TreePO's time to GRPO's final accuracy / GRPO's", "<= 0.6", time, time <= 0.6),
                new("TreePO's final held-out mean@k - GRPO's", ">= 0", treeFinal - target, treeFinal >= target),
            };
            return new Summary(target, grpoReach, treeReach, time, tokens,
                tree.Last.TrainWallSeconds / grpo.Last.TrainWallSeconds, (double)tree.Last.ComputedTokens / grpo.Last.ComputedTokens,
                tree.Last.RolloutSeconds / grpo.Last.RolloutSeconds, tree.Last.TrainSeconds / grpo.Last.TrainSeconds,
                treeFinal, target, goals);
        }
    }

    static void Print(string title, IReadOnlyList<TrainingCurve> curves, Summary s)
    {
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(title)}[/]");
        var table = new Table().AddColumns("algo", "step", "train wall s", "computed tokens", "held-out mean@k", "maj@k", "pass@k");
        foreach (var c in curves)
            foreach (var p in c.Evaluated)
                table.AddRow(c.Algo, p.Step.ToString(), p.TrainWallSeconds.ToString("F1"), p.ComputedTokens.ToString(),
                    $"{p.MeanAtK:P1}", $"{p.MajAtK:P1}", $"{p.PassAtK:P1}");
        AnsiConsole.Write(table);

        var totals = new Table().AddColumns("algo", "train wall s", "rollout s", "train s", "sync s", "computed tokens", "prefill", "decode",
            "generated", "train tokens", "final mean@k", "curve mean@k", "filter kept / all correct / all wrong");
        foreach (var c in curves)
        {
            var l = c.Last;
            totals.AddRow(c.Algo, l.TrainWallSeconds.ToString("F1"), l.RolloutSeconds.ToString("F1"), l.TrainSeconds.ToString("F1"),
                l.SyncSeconds.ToString("F1"), l.ComputedTokens.ToString(), l.PrefillTokens.ToString(), l.DecodeTokens.ToString(),
                l.GeneratedTokens.ToString(), l.TrainTokens.ToString(), $"{c.FinalEval.MeanAtK:P1}", $"{c.CurveMean:P1}",
                $"{c.Filter.KeptShare:P0} / {c.Filter.AllCorrectShare:P0} / {c.Filter.AllWrongShare:P0}");
        }
        AnsiConsole.Write(totals);

        var r = new Table().AddColumns("TreePO / GRPO", "value");
        r.AddRow("GRPO's final held-out mean@k (the target)", $"{s.Target:P1}, first reached at step {s.GrpoReach.Step} ({s.GrpoReach.TrainWallSeconds:F1} s)");
        r.AddRow("TreePO reaches it", s.TreeReach is { } t ? $"at step {t.Step} ({t.TrainWallSeconds:F1} s)" : "[red]never[/]");
        r.AddRow("time to target", s.TimeRatio is { } x ? $"{x:F2}x" : "-");
        r.AddRow("computed tokens to target", s.TokenRatio is { } y ? $"{y:F2}x" : "-");
        r.AddRow("whole run: train wall time", $"{s.TotalTimeRatio:F2}x");
        r.AddRow("whole run: rollout computed tokens", $"{s.TotalTokenRatio:F2}x");
        r.AddRow("whole run: rollout seconds / training seconds", $"{s.RolloutRatio:F2}x / {s.TrainRatio:F2}x");
        foreach (var g in s.Goals)
            r.AddRow($"goal: {Markup.Escape(g.Name)} ({g.Target})", g.Met ? $"[green]{g.Measured:F2} met[/]" : $"[red]{g.Measured?.ToString("F2") ?? "never reached"}: not met[/]");
        AnsiConsole.Write(r);
    }

    static string Plot(string path, IReadOnlyDictionary<string, TrainingCurve> curves, Summary s, int seeds)
    {
        static Series S(string name, IEnumerable<CurvePoint> ps, Func<CurvePoint, double> x, Func<CurvePoint, double> y) =>
            new(name, ps.Select(x).ToList(), ps.Select(y).ToList());
        Series Level(Func<CurvePoint, double> x) =>
            new($"GRPO final {s.Target:P1}", [0, curves.Values.Max(c => x(c.Last))], [s.Target, s.Target]);
        Series[] Accuracy(Func<CurvePoint, double> x) =>
            [.. curves.Values.Select(c => S(c.Algo, c.Evaluated, x, p => p.MeanAtK!.Value)), Level(x)];
        Series[] PerStep(Func<CurvePoint, double> y) => [.. curves.Values.Select(c => S(c.Algo, c.Points, p => p.Step, y))];
        string of = seeds > 1 ? $" (mean of {seeds} seeds)" : "";
        string full = Path.GetFullPath(path);
        PanelPlot.SavePng(full,
        [
            new Panel("Held-out mean@k vs training wall time" + of, "seconds (evaluation excluded)", "mean@k", Accuracy(p => p.TrainWallSeconds)),
            new Panel("Held-out mean@k vs rollout computed tokens" + of, "prefill + decode tokens (millions)", "mean@k", Accuracy(p => p.ComputedTokens / 1e6)),
            new Panel("Training wall time vs step" + of, "step", "seconds (evaluation excluded)", PerStep(p => p.TrainWallSeconds)),
            new Panel("Rollout computed tokens vs step" + of, "step", "prefill + decode tokens (millions)", PerStep(p => p.ComputedTokens / 1e6)),
        ]);
        return full;
    }

    static object RunJson(TrainingCurve c, RunSpec spec, long evalTokens) => new
    {
        algo = c.Algo,
        run_id = spec.RunId,
        run_dir = spec.RunDir,
        totals = TotalsJson(c.Last),
        eval_computed_tokens = evalTokens,
        steps = c.Points.Select(p => new
        {
            step = p.Step, train_wall_s = p.TrainWallSeconds, wall_s = p.WallSeconds, computed_tokens = p.ComputedTokens,
            rollout_s = p.RolloutSeconds, train_s = p.TrainSeconds, mean_at_k = p.MeanAtK,
        }),
    };

    static object PointJson(CurvePoint p) => new
    {
        step = p.Step,
        train_wall_s = p.TrainWallSeconds,
        computed_tokens = p.ComputedTokens,
        mean_at_k = p.MeanAtK,
        maj_at_k = p.MajAtK,
        pass_at_k = p.PassAtK,
    };
}
