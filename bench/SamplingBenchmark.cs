using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using TreePO.Bench.Common;
using TreePO.Core.Protocol;
using TreePO.Engine;
using static TorchSharp.torch;

namespace TreePO.Bench;

/// <summary>
/// `bench sampling`: the paper's offline efficiency study (§4.1) at this machine's scale. Tree sampling and the
/// sequential baseline run on the same engine settings (one process, model, threads, KV budget, slots, sampling,
/// budget d x l and stop rules), alternating, several repetitions, each run on a fresh engine with every query issued
/// at once. Ratios are tree over sequential, medians over repetitions of the paired ratios. A no-sharing run is
/// shown as a lower bound only. Then a concurrency sweep: the same workload with 16, 64 and 256 queries in flight
/// (--concurrency LIST, --concurrency-reps N; slots follow queries x w unless --slots is given), one tree and one
/// sequential run each, so that a user sees where the engine saturates and what the tree buys there; and the engine's
/// step time against batch size over every run. Options: <see cref="Settings"/> and <see cref="WorkloadSettings"/>.
/// </summary>
public sealed class SamplingBenchmark : AsyncCommand<SamplingBenchmark.Settings>
{
    public sealed class Settings() : WorkloadSettings(reps: 5, output: "sampling.json")
    {
        [CommandOption("--no-lower-bound"), Description("Skip the no-sharing runs (the lower bound).")] public bool NoLowerBound { get; init; }
        [CommandOption("--concurrency <LIST>"), Description("Queries in flight in the concurrency sweep (default 16,64,256; 0 is skipped).")]
        public string Concurrency { get; init; } = "16,64,256";
        [CommandOption("--concurrency-reps <N>"), Description("Runs per mode at each point of the concurrency sweep (default 1).")]
        public int ConcurrencyReps { get; init; } = 1;

        protected override void Check(List<string> problems)
        {
            base.Check(problems);
            IntList("--concurrency", Concurrency, 0, problems);
            AtLeast(problems, "--concurrency-reps", ConcurrencyReps, 1);
        }
    }

    public sealed record Options(SamplingWorkload Workload, int Repetitions, int Warmup, int WarmupMax, bool LowerBound, string Out,
        int[] Concurrency, int ConcurrencyReps, bool SlotsGiven, ulong TaskSeed, int Difficulty)
    {
        /// <summary>The workload of `sampling` and `sweep` from their options (checked by Spectre before); null, with
        /// the reason printed, when the model or the tree does not fit them.</summary>
        /// <param name="concurrency">The concurrency sweep's points (`sampling` only).</param>
        public static Options? From(WorkloadSettings a, bool lowerBound = true, int[]? concurrency = null, int concurrencyReps = 0)
        {
            int queries = a.Queries, width = a.Width, branch = a.Branch;
            int depth = a.Depth, segment = a.SegmentLength;
            int initMin = a.InitDivergenceMin, initMax = a.InitDivergenceMax;
            int reps = a.Reps, warmup = a.Warmup;
            double temperature = a.Temperature, topP = a.TopP;
            int topK = a.TopK;
            int threads = a.Threads, slots = a.Slots, chunk = a.PrefillChunk;
            long kvMb = a.KvMb;
            ulong seed = (ulong)a.Seed, taskSeed = (ulong)a.TaskSeed;
            int difficulty = a.Difficulty;
            string model = a.Model;
            bool randomWeights = a.RandomWeights;
            string output = a.Out;
            concurrency ??= [];

            try { BenchDevice.Open(a.Device); }   // before any model is written: a GPU that is not there stops the benchmark
            catch (ArgumentException e)
            {
                AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]");
                return null;
            }
            BenchModel bench;
            try { bench = BenchModel.Resolve(model, randomWeights, seed, a.RandomShape); }
            catch (TreePO.Hosting.Models.ModelFolderException e)
            {
                AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/] (or --random-weights to measure a random-weights model of the built-in shape)");
                return null;
            }
            var items = bench.HeldOutQueries(queries, taskSeed, difficulty);
            int maxPrompt = items.Max(q => q.PromptTokens.Length);
            if (maxPrompt + depth * segment > bench.Config.MaxPositionEmbeddings)
            {
                AnsiConsole.MarkupLine($"[red]--d {depth} x --l {segment} plus the longest prompt ({maxPrompt} tokens) exceeds the model's " +
                    $"{bench.Config.MaxPositionEmbeddings} positions[/]");
                return null;
            }
            var workload = new SamplingWorkload(bench, items, width, depth, segment, branch,
                new SamplingParams((float)temperature, (float)topP, topK),
                // The engine's own choice when not given (one thread for the built-in model), so the header says it.
                threads > 0 ? threads : new EngineOptions().ThreadsFor(bench.Config),
                // Enough slots for every branch of every query at once, in either mode.
                slots > 0 ? slots : queries * width,
                kvMb << 20, chunk, seed, initMin, initMax, a.Device,
                // A large random shape holds 32k positions: its slots are sized to the paths this workload makes.
                a.RandomShape.Length > 0 ? maxPrompt + depth * segment : 0);
            if (workload.TreeConfig(RunMode.Tree).Validate() is { Count: > 0 } treeErrors)
            {
                foreach (string e in treeErrors) AnsiConsole.MarkupLine($"[red]{Markup.Escape(e)}[/]");
                return null;
            }
            return new Options(workload, reps, warmup, a.WarmupMax, lowerBound, output, concurrency.Where(c => c > 0).ToArray(), concurrencyReps,
                slots > 0, taskSeed, difficulty);
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var o = Options.From(settings, !settings.NoLowerBound, BenchSettings.IntList("--concurrency", settings.Concurrency), settings.ConcurrencyReps);
        if (o is null) return 2;
        var w = o.Workload;
        set_num_threads(w.Threads);
        var machine = Machine.Describe(w.Threads);
        AnsiConsole.MarkupLine($"[bold]sampling benchmark[/] on {Markup.Escape(machine.ToString())}");
        AnsiConsole.MarkupLine($"model: {Markup.Escape(w.Model.Description)}");
        string firstFork = w.InitDivergenceMax > w.Branch ? $", first fork U{{{(w.InitDivergenceMin > 0 ? w.InitDivergenceMin : w.Branch)}..{w.InitDivergenceMax}}}" : "";
        AnsiConsole.MarkupLine($"workload: {w.Queries.Count} held-out queries x w={w.Width}, b={w.Branch}{Markup.Escape(firstFork)}, d={w.Depth} x l={w.SegmentLength} " +
            $"= {w.Budget} tokens per trajectory, temperature {w.Sampling.Temperature}, {w.Slots} slots, {w.KvBudgetBytes >> 20} MiB KV, " +
            $"{o.Repetitions} repetitions");

        var warmup = await JitWarmup.RunAsync(w, o.Warmup, o.WarmupMax); // JIT tiering and allocator pages, discarded
        AnsiConsole.MarkupLine(warmup.Markup());

        var runs = new List<RunRecord>();
        foreach (var (mode, rep) in RunModes.Schedule(o.Repetitions, o.LowerBound))
        {
            var r = await SamplingRunner.RunAsync(w, mode, rep);
            runs.Add(r);
            AnsiConsole.MarkupLine($"  {r.Mode,-22} rep {rep}: {r.Trajectories} trajectories in {r.WallSeconds:F2} s = {r.TrajPerSecond:F1} traj/s, " +
                $"computed {r.ComputedTokens}, calls {r.InferenceCalls}, JIT {r.Jit.Methods} methods {r.Jit.Milliseconds:F0} ms");
        }

        var summary = SamplingSummary.Of(runs);
        Print(w.Model, runs, summary);
        var sweep = await SweepConcurrencyAsync(o);
        PrintSweep(w.Model, sweep);
        var curve = StepCurve([.. runs, .. sweep.Select(x => x.Run)]);
        PrintCurve(w.Model, curve);
        string path = BenchJson.Write(o.Out, new
        {
            benchmark = "sampling",
            machine = BenchJson.MachineJson(machine),
            workload = w.ToJson(),
            repetitions = o.Repetitions,
            warmup = warmup.ToJson(),
            order = runs.Select(r => $"{r.Mode}#{r.Repetition}"),
            runs = runs.Select(r => r.ToJson()),
            ratios = new
            {
                traj_per_s = summary.TrajPerSecond,
                computed_tokens = summary.ComputedTokens,
                inference_calls = summary.InferenceCalls,
                generated_tokens_per_s = summary.GeneratedTokensPerSecond,
                paper_token_ps = summary.PaperTokenPs,
                peak_rss_bytes = summary.PeakRss,
            },
            token_bound = summary.TokenBound,
            token_bound_with_prompt = summary.TokenBoundWithPrompt,
            token_bound_ceiling = summary.TokenBoundCeiling,
            lower_bound = summary.LowerBound is { } lb ? new
            {
                label = "no sharing at all (each sample its own request): a lower bound, not the baseline",
                sequential_over_no_sharing_traj_per_s = lb.TrajPerSecond,
                sequential_over_no_sharing_computed_tokens = lb.ComputedTokens,
            } : null,
            goals = summary.Goals.Select(g => new { goal = g.Name, target = g.Target, measured = g.Measured, met = g.Met }),
            concurrency_sweep = sweep.Select(x => new { queries = x.Queries, run = x.Run.ToJson() }),
            concurrency_ratios = SweepRatios(sweep).Select(x => new { queries = x.Queries, traj_per_s = x.TrajPerSecond, computed_tokens = x.Computed, engine_steps = x.Steps }),
            step_time_by_batch = curve.Select(c => new { mode = c.Mode, min_batch = c.MinBatch, max_batch = c.MaxBatch, steps = c.Steps, mean_ms = c.MeanMs }),
        });
        AnsiConsole.MarkupLine($"wrote {Markup.Escape(path)}");
        return 0;
    }

    static void Print(BenchModel model, IReadOnlyList<RunRecord> runs, SamplingSummary s)
    {
        var table = model.Table("mode", "rep", "traj", "wall s", "traj/s", "gen tok/s", "computed", "prefill", "decode",
            "reused", "recomputed", "unique", "calls", "steps", "paper TokenPS", "batch", "peak RSS MiB");
        foreach (var r in runs)
            table.AddRow(r.Mode, r.Repetition.ToString(), r.Trajectories.ToString(), r.WallSeconds.ToString("F2"), r.TrajPerSecond.ToString("F1"),
                r.GeneratedTokensPerSecond.ToString("F0"), r.ComputedTokens.ToString(), r.PrefillTokens.ToString(), r.DecodeTokens.ToString(),
                r.ReusedTokens.ToString(), r.RecomputedTokens.ToString(), r.UniqueTokens.ToString(), r.InferenceCalls.ToString(),
                r.Steps.ToString(), r.PaperTokenPs.ToString("F0"),
                r.MeanBatchSize.ToString("F1"), (r.PeakRssBytes >> 20).ToString());
        AnsiConsole.Write(table);
        var goals = model.Table("tree / sequential (median of paired ratios)", "value");
        goals.AddRow("trajectories/s", $"{s.TrajPerSecond:F2}x");
        goals.AddRow("generated tokens/s", $"{s.GeneratedTokensPerSecond:F2}x");
        goals.AddRow("computed tokens (prefill + decode)", $"{s.ComputedTokens:F2}x");
        goals.AddRow("inference calls", $"{s.InferenceCalls:F2}x");
        goals.AddRow("paper TokenPS (resubmitted context counted)", $"{s.PaperTokenPs:F2}x");
        goals.AddRow("token_bound (sequential computed / tree unique)", $"{s.TokenBound:F2}x");
        goals.AddRow("token_bound_with_prompt (sequential computed / (tree unique + prompts))", $"{s.TokenBoundWithPrompt:F2}x");
        goals.AddRow("ceiling of traj/s over token_bound at a fixed cost a computed token (tree unique / tree computed)",
            $"{s.TokenBoundCeiling:F2}");
        if (s.LowerBound is { } lb)
            goals.AddRow("[dim]sequential / no-sharing lower bound: traj/s, computed[/]", $"[dim]{lb.TrajPerSecond:F2}x, {lb.ComputedTokens:F2}x[/]");
        foreach (var g in s.Goals)
            goals.AddRow($"goal: {Markup.Escape(g.Name)} ({g.Target})", g.Met ? $"[green]{g.Measured:F2} met[/]" : $"[red]{g.Measured:F2} not met[/]");
        AnsiConsole.Write(goals);
    }

    /// <summary>The workload with <c>queries</c> in flight, one tree and one sequential run per repetition (each on a
    /// fresh engine, alternating as the main runs do).</summary>
    static async Task<List<(int Queries, RunRecord Run)>> SweepConcurrencyAsync(Options o)
    {
        var result = new List<(int, RunRecord)>();
        foreach (int queries in o.Concurrency)
        {
            var w = o.Workload with
            {
                Queries = o.Workload.Model.HeldOutQueries(queries, o.TaskSeed, o.Difficulty),
                Slots = o.SlotsGiven ? o.Workload.Slots : queries * o.Workload.Width,
            };
            foreach (var (mode, rep) in RunModes.Schedule(o.ConcurrencyReps, lowerBound: false))
            {
                var r = await SamplingRunner.RunAsync(w, mode, rep);
                result.Add((queries, r));
                AnsiConsole.MarkupLine($"  {queries} queries in flight, {r.Mode,-10} rep {rep}: {r.TrajPerSecond:F1} traj/s, {r.Steps} steps of " +
                    $"{r.MeanBatchSize:F1} sequences, computed {r.ComputedTokens}, recomputed {r.RecomputedTokens}");
            }
        }
        return result;
    }

    static List<(int Queries, double TrajPerSecond, double Computed, double Steps)> SweepRatios(List<(int Queries, RunRecord Run)> sweep) =>
        sweep.GroupBy(x => x.Queries).Select(g =>
        {
            var tree = g.Where(x => x.Run.Mode == RunMode.Tree.Wire()).Select(x => x.Run).OrderBy(r => r.Repetition).ToList();
            var seq = g.Where(x => x.Run.Mode == RunMode.Sequential.Wire()).Select(x => x.Run).OrderBy(r => r.Repetition).ToList();
            double Ratio(Func<RunRecord, double> f) => Medians.OfRatios(tree.Select(f).ToList(), seq.Select(f).ToList());
            return (g.Key, Ratio(r => r.TrajPerSecond), Ratio(r => r.ComputedTokens), Ratio(r => r.Steps));
        }).ToList();

    static void PrintSweep(BenchModel model, List<(int Queries, RunRecord Run)> sweep)
    {
        if (sweep.Count == 0) return;
        var table = model.Table("queries in flight", "mode", "traj/s", "engine steps", "mean batch", "computed", "recomputed", "evictions");
        foreach (var (q, r) in sweep)
            table.AddRow(q.ToString(), r.Mode, r.TrajPerSecond.ToString("F1"), r.Steps.ToString(), r.MeanBatchSize.ToString("F1"),
                r.ComputedTokens.ToString(), r.RecomputedTokens.ToString(), r.Evictions.ToString());
        AnsiConsole.Write(table);
        var ratios = model.Table("queries in flight", "tree / sequential traj/s", "computed tokens", "engine steps");
        foreach (var (q, traj, computed, steps) in SweepRatios(sweep))
            ratios.AddRow(q.ToString(), $"{traj:F2}x", $"{computed:F2}x", $"{steps:F2}x");
        AnsiConsole.Write(ratios);
    }

    sealed record CurvePoint(string Mode, int MinBatch, int MaxBatch, long Steps, double MeanMs);

    /// <summary>Mean engine step time by batch size, per mode, over the given runs.</summary>
    static List<CurvePoint> StepCurve(IEnumerable<RunRecord> runs) =>
        runs.Where(r => r.StepTimes is not null)
            .SelectMany(r => r.StepTimes!.Select(b => (r.Mode, Bucket: b)))
            .GroupBy(x => (x.Mode, x.Bucket.MinBatch, x.Bucket.MaxBatch))
            .Select(g => new CurvePoint(g.Key.Mode, g.Key.MinBatch, g.Key.MaxBatch, g.Sum(x => x.Bucket.Steps),
                g.Sum(x => x.Bucket.Seconds) * 1000 / Math.Max(1, g.Sum(x => x.Bucket.Steps))))
            .OrderBy(c => c.Mode).ThenBy(c => c.MinBatch).ToList();

    static void PrintCurve(BenchModel model, List<CurvePoint> curve)
    {
        var table = model.Table("engine step time by batch (all runs)", "mode", "steps", "mean ms", "ms / sequence");
        foreach (var c in curve)
            table.AddRow(c.MinBatch == c.MaxBatch ? $"{c.MinBatch}" : $"{c.MinBatch}-{c.MaxBatch}", c.Mode, c.Steps.ToString(),
                c.MeanMs.ToString("F2"), (c.MeanMs / ((c.MinBatch + c.MaxBatch) / 2.0)).ToString("F3"));
        AnsiConsole.Write(table);
    }
}
