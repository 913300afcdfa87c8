using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using TreePO.Bench.Common;
using TreePO.Hosting.Reporting;
using Panel = TreePO.Hosting.Reporting.Panel;
using static TorchSharp.torch;

namespace TreePO.Bench;

/// <summary>
/// `bench sweep`: the paper's Figure 4 (depth d against segment length l at a fixed per-trajectory budget d x l) and
/// Figure 5 (rollouts per query w), tree against sequential at every point, on the `sampling` workload. Each point
/// alternates the two modes over --reps repetitions on fresh engines. Writes a table, sweep.json and sweep.png.
/// Options: those of `sampling` (except --no-lower-bound), plus --budget (default d x l of the workload),
/// --depths 1,2,4,8,16,32 (each must divide the budget), --widths 2,4,8,16,32, --png sweep.png.
/// </summary>
public sealed class SweepBenchmark : AsyncCommand<SweepBenchmark.Settings>
{
    public sealed class Settings() : WorkloadSettings(reps: 4, output: "sweep.json")
    {
        [CommandOption("--budget <TOKENS>"), Description("Tokens per trajectory, d x l (default 0: the workload's).")] public int Budget { get; init; }
        [CommandOption("--depths <LIST>"), Description("Depths of the depth sweep, each dividing the budget (default 1,2,4,8,16,32).")]
        public string Depths { get; init; } = "1,2,4,8,16,32";
        [CommandOption("--widths <LIST>"), Description("Widths of the width sweep (default 2,4,8,16,32).")] public string Widths { get; init; } = "2,4,8,16,32";
        [CommandOption("--png <FILE>")] public string Png { get; init; } = "sweep.png";

        protected override void Check(List<string> problems)
        {
            base.Check(problems);
            AtLeast(problems, "--budget", Budget, 0);
            IntList("--depths", Depths, 1, problems);
            IntList("--widths", Widths, 1, problems);
        }
    }

    sealed record Point(string Sweep, int Depth, int SegmentLength, int Width, IReadOnlyList<RunRecord> Runs, SamplingSummary Summary)
    {
        double Median(RunMode mode, Func<RunRecord, double> f) => Medians.Of(Runs.Where(r => r.Mode == mode.Wire()).Select(f));
        public double TreeTrajPs => Median(RunMode.Tree, r => r.TrajPerSecond);
        public double SeqTrajPs => Median(RunMode.Sequential, r => r.TrajPerSecond);
        public double TreeTokenPs => Median(RunMode.Tree, r => r.PaperTokenPs);
        public double SeqTokenPs => Median(RunMode.Sequential, r => r.PaperTokenPs);
        public double TreeComputed => Median(RunMode.Tree, r => r.ComputedTokens);
        public double SeqComputed => Median(RunMode.Sequential, r => r.ComputedTokens);
        public double TreeSteps => Median(RunMode.Tree, r => r.Steps);
        public double SeqSteps => Median(RunMode.Sequential, r => r.Steps);

        public object ToJson() => new
        {
            sweep = Sweep, d = Depth, l = SegmentLength, w = Width,
            tree = new { traj_per_s = TreeTrajPs, paper_token_ps = TreeTokenPs, computed_tokens = TreeComputed, engine_steps = TreeSteps },
            sequential = new { traj_per_s = SeqTrajPs, paper_token_ps = SeqTokenPs, computed_tokens = SeqComputed, engine_steps = SeqSteps },
            ratios = new
            {
                traj_per_s = Summary.TrajPerSecond, computed_tokens = Summary.ComputedTokens,
                inference_calls = Summary.InferenceCalls, paper_token_ps = Summary.PaperTokenPs,
            },
            token_bound = Summary.TokenBound,
            token_bound_with_prompt = Summary.TokenBoundWithPrompt,
            token_bound_ceiling = Summary.TokenBoundCeiling,
            runs = Runs.Select(r => r.ToJson()),
        };
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        int budgetOption = settings.Budget;
        int[] depths = BenchSettings.IntList("--depths", settings.Depths);
        int[] widths = BenchSettings.IntList("--widths", settings.Widths);
        string png = settings.Png;
        var o = SamplingBenchmark.Options.From(settings);
        if (o is null) return 2;
        var w = o.Workload;
        int budget = budgetOption > 0 ? budgetOption : w.Budget;
        var bad = depths.Where(d => budget % d != 0).ToList();
        if (bad.Count > 0)
        {
            AnsiConsole.MarkupLine($"[red]--depths: {string.Join(", ", bad)} do not divide the budget {budget} (segments are equal-length)[/]");
            return 2;
        }

        set_num_threads(w.Threads);
        var machine = Machine.Describe(w.Threads);
        AnsiConsole.MarkupLine($"[bold]sweep benchmark[/] on {Markup.Escape(machine.ToString())}");
        AnsiConsole.MarkupLine($"model: {Markup.Escape(w.Model.Description)}");
        AnsiConsole.MarkupLine($"{w.Queries.Count} held-out queries, b={w.Branch}, budget {budget} tokens, {o.Repetitions} repetitions per point; " +
            $"depth sweep at w={w.Width}, width sweep at d={w.Depth} x l={w.SegmentLength}");

        var warmup = await JitWarmup.RunAsync(w, o.Warmup, o.WarmupMax); // JIT tiering and allocator pages, discarded
        AnsiConsole.MarkupLine(warmup.Markup());

        var points = new List<Point>();
        foreach (int d in depths)
            points.Add(await MeasureAsync("depth", w with { Depth = d, SegmentLength = budget / d }, o.Repetitions));
        foreach (int width in widths)
        {
            // Slots follow the width so that every branch of every query fits at once, as in `sampling`.
            var point = w with { Width = width, Slots = w.Slots / w.Width * width };
            points.Add(await MeasureAsync("width", point, o.Repetitions));
        }

        var table = w.Model.Table("sweep", "d", "l", "w", "tree traj/s", "seq traj/s", "traj/s ratio", "tree TokenPS", "seq TokenPS",
            "computed ratio", "token_bound", "tree steps", "seq steps");
        foreach (var p in points)
            table.AddRow(p.Sweep, p.Depth.ToString(), p.SegmentLength.ToString(), p.Width.ToString(), p.TreeTrajPs.ToString("F1"),
                p.SeqTrajPs.ToString("F1"), $"{p.Summary.TrajPerSecond:F2}x", p.TreeTokenPs.ToString("F0"), p.SeqTokenPs.ToString("F0"),
                $"{p.Summary.ComputedTokens:F2}x", $"{p.Summary.TokenBound:F2}x", p.TreeSteps.ToString("F0"), p.SeqSteps.ToString("F0"));
        AnsiConsole.Write(table);

        string path = BenchJson.Write(o.Out, new
        {
            benchmark = "sweep",
            machine = BenchJson.MachineJson(machine),
            workload = w.ToJson(),
            budget_tokens = budget,
            repetitions = o.Repetitions,
            warmup = warmup.ToJson(),
            note = "paper_token_ps is the paper's TokenPS: every submitted context once per branch plus generated tokens, cache hits included",
            points = points.Select(p => p.ToJson()),
        });
        AnsiConsole.MarkupLine($"wrote {Markup.Escape(path)}");
        SavePlot(png, points, budget, w.Model.IsStandIn ? "RANDOM WEIGHTS: " : "");
        AnsiConsole.MarkupLine($"wrote {Markup.Escape(Path.GetFullPath(png))}");
        return 0;
    }

    static async Task<Point> MeasureAsync(string sweep, SamplingWorkload w, int repetitions)
    {
        var runs = new List<RunRecord>();
        foreach (var (mode, rep) in RunModes.Schedule(repetitions, lowerBound: false))
            runs.Add(await SamplingRunner.RunAsync(w, mode, rep));
        var point = new Point(sweep, w.Depth, w.SegmentLength, w.Width, runs, SamplingSummary.Of(runs));
        AnsiConsole.MarkupLine($"  {sweep} d={w.Depth} l={w.SegmentLength} w={w.Width}: tree {point.TreeTrajPs:F1} traj/s, " +
            $"sequential {point.SeqTrajPs:F1} traj/s ({point.Summary.TrajPerSecond:F2}x), computed {point.Summary.ComputedTokens:F2}x");
        return point;
    }

    static void SavePlot(string path, IReadOnlyList<Point> points, int budget, string prefix)
    {
        var depth = points.Where(p => p.Sweep == "depth").ToList();
        var width = points.Where(p => p.Sweep == "width").ToList();
        static Series S(string name, IEnumerable<Point> ps, Func<Point, double> x, Func<Point, double> y) =>
            new(name, ps.Select(x).ToList(), ps.Select(y).ToList());
        double Log2(int v) => Math.Log2(v);
        PanelPlot.SavePng(path,
        [
            new Panel(prefix + $"Trajectories/s vs depth (d x l = {budget})", "log2 depth d", "trajectories / s",
                [S("tree", depth, p => Log2(p.Depth), p => p.TreeTrajPs), S("sequential", depth, p => Log2(p.Depth), p => p.SeqTrajPs)]),
            new Panel(prefix + "Paper TokenPS vs depth", "log2 depth d", "tokens / s",
                [S("tree", depth, p => Log2(p.Depth), p => p.TreeTokenPs), S("sequential", depth, p => Log2(p.Depth), p => p.SeqTokenPs)]),
            new Panel(prefix + "Tree / sequential vs depth", "log2 depth d", "ratio",
                [S("traj/s", depth, p => Log2(p.Depth), p => p.Summary.TrajPerSecond),
                 S("computed tokens", depth, p => Log2(p.Depth), p => p.Summary.ComputedTokens),
                 S("token_bound", depth, p => Log2(p.Depth), p => p.Summary.TokenBound),
                 S("token_bound with prompt", depth, p => Log2(p.Depth), p => p.Summary.TokenBoundWithPrompt)]),
            new Panel(prefix + "Trajectories/s vs rollouts per query", "log2 w", "trajectories / s",
                [S("tree", width, p => Log2(p.Width), p => p.TreeTrajPs), S("sequential", width, p => Log2(p.Width), p => p.SeqTrajPs)]),
            new Panel(prefix + "Tree / sequential vs rollouts per query", "log2 w", "ratio",
                [S("traj/s", width, p => Log2(p.Width), p => p.Summary.TrajPerSecond),
                 S("computed tokens", width, p => Log2(p.Width), p => p.Summary.ComputedTokens),
                 S("token_bound", width, p => Log2(p.Width), p => p.Summary.TokenBound),
                 S("token_bound with prompt", width, p => Log2(p.Width), p => p.Summary.TokenBoundWithPrompt)]),
            new Panel(prefix + "Engine steps vs depth (the critical path)", "log2 depth d", "model steps per run",
                [S("tree", depth, p => Log2(p.Depth), p => p.TreeSteps), S("sequential", depth, p => Log2(p.Depth), p => p.SeqSteps)]),
        ], columns: 3);
    }
}
