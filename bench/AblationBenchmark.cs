using System.Text.Json.Nodes;
using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using TreePO.Bench.Common;
using TreePO.Core.Trees;
using TreePO.Grains.Training;
using TreePO.Hosting.Options;
using TreePO.Hosting.Reporting;
using Panel = TreePO.Hosting.Reporting.Panel;

namespace TreePO.Bench;

/// <summary>
/// `bench ablation`: the paper's ablations (its Tables 1 and 3) on the built-in task, each a `treepo train` run that
/// differs from TreePO in one choice: GRPO; the GRPO advantage with tree sampling; TreePO; size-weighted subgroups;
/// subgroup rejection; no root group; log-prob branching (against TreePO's even split); and the project's segment
/// advantage (not the paper's). Same model, steps, queries,
/// data and trainer for all, for each seed, in one embedded silo, run one after the other. A table of final held-out
/// mean@k, maj@k, pass@k, training wall time (evaluation excluded) and rollout computed tokens, averaged over seeds;
/// one PNG of the held-out curves. Options: --steps, --queries, --eval-every, --eval-queries, --seeds, --variants (a
/// comma list of names; default all), --model, --runs, --out, --png, --slots.
/// </summary>
public sealed class AblationBenchmark : AsyncCommand<AblationBenchmark.Settings>
{
    /// <summary>One arm of the ablation: a name, what it is, and how it changes `treepo train`'s options.</summary>
    internal sealed record Variant(string Name, string What, Action<TreePOOptions> Apply);

    static readonly Variant[] Variants =
    [
        new("grpo", "GRPO: sequential sampling, group advantage (--algo grpo)", o => o.Run.Algo = "grpo"),
        new("grpo_adv_tree_sampling", "GRPO advantage with tree sampling (--sampling tree --advantage group)",
            o => o.Advantage.Estimator = "group"),
        new("treepo", "TreePO: tree sampling, tree advantage, even split (--algo treepo)", _ => { }),
        new("size_weighted", "TreePO, size-weighted subgroups (--advantage tree_size_weighted)", o => o.Advantage.Estimator = "tree_size_weighted"),
        new("subgroup_reject", "TreePO, subgroups of equal rewards rejected (--advantage tree_subgroup_reject)",
            o => o.Advantage.Estimator = "tree_subgroup_reject"),
        new("no_root", "TreePO without the root group (--no-root)", o => o.Advantage.NoRoot = true),
        new("logprob_branching", "TreePO, log-prob branching instead of even split (--tree.branching=LogProb)",
            o => o.Tree.Branching = BranchingPolicy.LogProb),
        new("segment", "Tree sampling, an advantage per stretch between forks against the fork's other trajectories (--advantage segment)",
            o => o.Advantage.Estimator = "segment"),
    ];

    public sealed class Settings : BenchSettings
    {
        /// <summary>Sized for 45 minutes on 2 quiet cores: 8 variants x 2 seeds of 50 steps (`treepo train` runs 100).</summary>
        [CommandOption("--steps <N>"), Description("Training steps of each run (default 50).")] public int Steps { get; init; } = 50;
        [CommandOption("--variants <LIST>"), Description("Variants to run, by name (default all).")]
        public string Variants { get; init; } = string.Join(",", AblationBenchmark.Variants.Select(v => v.Name));
        [CommandOption("--queries <N>"), Description("Queries per step (default 16).")] public int Queries { get; init; } = 16;
        [CommandOption("--eval-every <N>"), Description("Steps between held-out evaluations (default: a quarter of the steps).")] public int? EvalEvery { get; init; }
        [CommandOption("--eval-queries <N>"), Description("Held-out queries (default 64).")] public int EvalQueries { get; init; } = 64;
        [CommandOption("--seeds <LIST>"), Description("The runs of every variant, one per seed (default 1,2).")] public string Seeds { get; init; } = "1,2";
        [CommandOption("--slots <N>"), Description("Engine slots (default 0: the engine's default).")] public int Slots { get; init; }
        [CommandOption("--model <DIR>"), Description("Model folder (default: Model:Path, else the built-in model).")] public string Model { get; init; } = "";
        [CommandOption("--level <N>"), Description("Built-in task level (default: treepo train's, Run:TaskLevel); 5, the deep level, brings its model, segments and budget as train does.")]
        public int? Level { get; init; }
        [CommandOption("--runs <DIR>"), Description("Run folders, deleted first.")] public string Runs { get; init; } = Path.Combine(new RunOptions().RunsDir, "bench-ablation");
        [CommandOption("--out <FILE>")] public string Out { get; init; } = "docs/bench/ablation.json";
        [CommandOption("--png <FILE>")] public string Png { get; init; } = "docs/bench/ablation.png";

        /// <summary>The variants named by --variants that exist, each once.</summary>
        internal Variant[] Chosen(List<string>? problems = null)
        {
            var chosen = new List<Variant>();
            foreach (string n in Variants.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                if (AblationBenchmark.Variants.FirstOrDefault(v => v.Name.Equals(n, StringComparison.OrdinalIgnoreCase)) is { } v) chosen.Add(v);
                else problems?.Add($"--variants: unknown variant '{n}' (known: {string.Join(", ", AblationBenchmark.Variants.Select(x => x.Name))})");
            if (chosen.Count == 0 && problems is { Count: 0 }) problems.Add("--variants: give at least one variant");
            return [.. chosen.Distinct()];
        }

        protected override void Check(List<string> problems)
        {
            AtLeast(problems, "--steps", Steps, 1);
            Chosen(problems);
            AtLeast(problems, "--queries", Queries, 1);
            if (EvalEvery is { } every) AtLeast(problems, "--eval-every", every, 1);
            AtLeast(problems, "--eval-queries", EvalQueries, 1);
            IntList("--seeds", Seeds, 0, problems);
            AtLeast(problems, "--slots", Slots, 0);
            TrainingBenchmark.LevelCheck(problems, Level);
        }
    }

    sealed record Options(string Model, int? Level, int Steps, int Queries, int EvalEvery, int EvalQueries, ulong[] Seeds, Variant[] Variants,
        int Slots, string RunsDir, string Out, string Png)
    {
        public static Options From(Settings a) => new(a.Model, a.Level, a.Steps, a.Queries, a.EvalEvery ?? Math.Max(1, a.Steps / 4), a.EvalQueries,
            [.. BenchSettings.IntList("--seeds", a.Seeds).Distinct().Select(x => (ulong)x)], a.Chosen(), a.Slots, a.Runs, a.Out, a.Png);
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var o = Options.From(settings);
        if (TrainingBenchmark.Model(o.Model, o.Level) is not { } model) return 2;
        TreePOOptions siloOptions;
        var specs = new Dictionary<string, RunSpec>();
        string runsDir = Path.GetFullPath(o.RunsDir);
        try
        {
            siloOptions = TrainingBenchmark.Silo(model, o.Slots, o.Level);
            foreach (ulong seed in o.Seeds)
                foreach (var v in o.Variants)
                {
                    string id = RunId(v.Name, seed);
                    var spec = TrainingBenchmark.TrainRun(id, Path.Combine(runsDir, id), model, o.Level, seed, o.Steps, o.Queries, o.EvalEvery,
                        o.EvalQueries, v.Apply);
                    var errors = RunSpecCheck.Validate(spec, 0);
                    if (errors.Count > 0) throw new ArgumentException($"{id}: " + string.Join("; ", errors));
                    specs[id] = spec;
                }
        }
        catch (Exception e) when (e is TreePOOptionsException or ArgumentException)
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]");
            return 1;
        }

        var machine = Machine.Describe(Environment.ProcessorCount);
        var first = specs.Values.First();
        // The tree the tree-sampling variants use (sequential ones sample w independent paths, b = w).
        var t = specs.Values.Select(RunSpecCheck.TreeConfigOf).FirstOrDefault(c => c.Mode == SamplingMode.Tree) ?? RunSpecCheck.TreeConfigOf(first);
        string workload = $"{o.Steps} steps x {o.Queries} queries, w={t.Width}, d={t.Depth} x l={t.SegmentLength}, b={t.Branch} (sequential: b = w); held-out " +
            $"mean@{first.EvalK} on {o.EvalQueries} queries every {o.EvalEvery} steps; seeds {string.Join(", ", o.Seeds)}";
        AnsiConsole.MarkupLine($"[bold]ablation benchmark[/] on {Markup.Escape(machine.ToString())}");
        AnsiConsole.MarkupLine($"model {Markup.Escape(model)}; {Markup.Escape(workload)}");

        var counter = new RolloutTokenCounter();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await using (var silo = await TrainingBenchmark.StartSiloAsync(siloOptions, counter))
        {
            try
            {
                foreach (var spec in specs.Values)
                {
                    TrainingBenchmark.Reset(spec.RunDir);
                    AnsiConsole.MarkupLine($"[bold]{Markup.Escape(spec.RunId)}[/] ({clock.Elapsed.TotalMinutes:F1} min in)");
                    await TrainingBenchmark.RunChunkAsync(silo.Client, spec, resume: false, quiet: false);
                }
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException)
            {
                AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]");
                return 1;
            }
        }

        var rows = o.Variants.Select(v =>
        {
            var runs = o.Seeds.Select(seed => TrainingCurve.Read(v.Name, specs[RunId(v.Name, seed)].RunDir, RunId(v.Name, seed), counter)).ToList();
            return new Row(v, runs, TrainingCurve.Average(v.Name, runs));
        }).ToList();
        var table = new Table().AddColumns("variant", "mean@k", "maj@k", "pass@k", "mean@k before", "curve mean@k", "filter kept", "train wall s", "computed tokens (M)", "per seed mean@k");
        foreach (var r in rows)
        {
            var f = r.Mean.FinalEval;
            table.AddRow(r.Variant.Name, $"{f.MeanAtK:P1}", $"{f.MajAtK:P1}", $"{f.PassAtK:P1}", $"{r.Mean.Evaluated.First().MeanAtK:P1}",
                $"{r.Mean.CurveMean:P1}", $"{r.Mean.Filter.KeptShare:P0}", r.Mean.Last.TrainWallSeconds.ToString("F0"), (r.Mean.Last.ComputedTokens / 1e6).ToString("F3"),
                string.Join(" / ", r.Runs.Select(x => $"{x.FinalEval.MeanAtK:P1}")));
        }
        AnsiConsole.Write(table);
        string png = Plot(o.Png, rows, o.Seeds.Length);
        string path = BenchJson.Write(o.Out, new
        {
            benchmark = "ablation",
            machine = BenchJson.MachineJson(machine),
            wall_s = clock.Elapsed.TotalSeconds,
            workload = new
            {
                model,
                description = workload,
                task_level = first.TaskLevel,
                steps = o.Steps,
                queries_per_step = o.Queries,
                oversample = first.Oversample,
                extra_rounds = first.MaxExtraRounds,
                eval_every = o.EvalEvery,
                eval_queries = o.EvalQueries,
                eval_k = first.EvalK,
                eval_temperature = first.EvalTemperature,
                eval_max_tokens = first.EvalMaxTokens,
                seeds = o.Seeds,
                engine_slots = siloOptions.Engine.MaxSlots,
            },
            measures = new
            {
                final = "held-out mean@k, maj@k and pass@k after the last step, averaged over the seeds",
                train_wall_s = "the run grain's wall clock less every held-out evaluation: rollouts, training, weight sync, logging, checkpoints",
                computed_tokens = "rollout forward-pass tokens, prefill + decode, as the engines reported them, every filter round; evaluation excluded",
            },
            variants = rows.Select(r => new
            {
                name = r.Variant.Name,
                what = r.Variant.What,
                tree = JsonNode.Parse(specs[RunId(r.Variant.Name, o.Seeds[0])].TreeConfigJson),
                trainer = specs[RunId(r.Variant.Name, o.Seeds[0])].Trainer,
                final = Point(r.Mean.FinalEval),
                before = Point(r.Mean.Evaluated.First()),
                curve_mean_at_k = r.Mean.CurveMean,
                filter_kept_share = r.Mean.Filter.KeptShare,
                filter_all_correct_share = r.Mean.Filter.AllCorrectShare,
                filter_all_wrong_share = r.Mean.Filter.AllWrongShare,
                train_wall_s = r.Mean.Last.TrainWallSeconds,
                computed_tokens = r.Mean.Last.ComputedTokens,
                seeds = r.Runs.Select((c, i) => new
                {
                    seed = o.Seeds[i],
                    final = Point(c.FinalEval),
                    curve_mean_at_k = c.CurveMean,
                    filter_kept_share = c.Filter.KeptShare,
                    train_wall_s = c.Last.TrainWallSeconds,
                    computed_tokens = c.Last.ComputedTokens,
                    evaluations = c.Evaluated.Select(Point),
                }),
            }),
            plot = png,
        });
        AnsiConsole.MarkupLine($"wrote {Markup.Escape(path)} and {Markup.Escape(png)} ({clock.Elapsed.TotalMinutes:F1} min)");
        return 0;
    }

    sealed record Row(Variant Variant, IReadOnlyList<TrainingCurve> Runs, TrainingCurve Mean);

    static string RunId(string variant, ulong seed) => $"{variant}-seed{seed}";

    static object Point(CurvePoint p) => new
    {
        step = p.Step, mean_at_k = p.MeanAtK, maj_at_k = p.MajAtK, pass_at_k = p.PassAtK, train_wall_s = p.TrainWallSeconds,
        computed_tokens = p.ComputedTokens,
    };

    static string Plot(string path, IReadOnlyList<Row> rows, int seeds)
    {
        static Series S(string name, IEnumerable<CurvePoint> ps, Func<CurvePoint, double> x, Func<CurvePoint, double> y) =>
            new(name, ps.Select(x).ToList(), ps.Select(y).ToList());
        string of = seeds > 1 ? $" (mean of {seeds} seeds)" : "";
        string full = Path.GetFullPath(path);
        PanelPlot.SavePng(full,
        [
            new Panel("Held-out mean@k vs step" + of, "step", "mean@k", [.. rows.Select(r => S(r.Variant.Name, r.Mean.Evaluated, p => p.Step, p => p.MeanAtK!.Value))]),
            new Panel("Held-out mean@k vs rollout computed tokens" + of, "prefill + decode tokens (millions)", "mean@k",
                [.. rows.Select(r => S(r.Variant.Name, r.Mean.Evaluated, p => p.ComputedTokens / 1e6, p => p.MeanAtK!.Value))]),
        ]);
        return full;
    }
}
