using Spectre.Console;
using TreePO.Bench.Common;
using TreePO.Core.Protocol;
using static TorchSharp.torch;

namespace TreePO.Bench;

/// <summary>
/// `bench sampling`: the paper's offline efficiency study (§4.1) at this machine's scale. Tree sampling and the
/// sequential baseline run on the same engine settings (one process, model, threads, KV budget, slots, sampling,
/// budget d x l and stop rules), alternating, several repetitions, each run on a fresh engine with every query issued
/// at once. Ratios are tree over sequential, medians over repetitions of the paired ratios. A no-sharing run is
/// shown as a lower bound only. Options: see <see cref="Options.Parse"/>.
/// </summary>
public static class SamplingBenchmark
{
    public sealed record Options(SamplingWorkload Workload, int Repetitions, int Warmup, bool LowerBound, string Out)
    {
        /// <summary>The workload options shared by `sampling` and `sweep`; a caller with options of its own reads them
        /// from <paramref name="a"/> first (unknown options are reported here).</summary>
        public static Options? Parse(BenchArgs a, string defaultOut, int defaultReps)
        {
            int queries = a.Int("queries", 16, 1), width = a.Int("w", 16, 1), branch = a.Int("b", 2, 1);
            int depth = a.Int("d", 8, 1), segment = a.Int("l", 8, 1);
            int reps = a.Int("reps", defaultReps, 1), warmup = a.Int("warmup", 1, 0);
            double temperature = a.Double("temperature", 1.0, 0), topP = a.Double("top-p", 1.0, 1e-6);
            int topK = a.Int("top-k", -1);
            int threads = a.Int("threads", 0, 0), slots = a.Int("slots", 0, 0), chunk = a.Int("prefill-chunk", 256, 1);
            long kvMb = a.Int("kv-mb", 512, 1);
            ulong seed = (ulong)a.Int("seed", 7, 0), taskSeed = (ulong)a.Int("task-seed", 1, 0);
            int difficulty = a.Int("difficulty", 2, 1);
            string model = a.String("model", "");
            bool randomWeights = a.Flag("random-weights");
            bool noLower = a.Flag("no-lower-bound");
            string output = a.String("out", defaultOut);
            if (!Report(a.Errors)) return null;

            BenchModel bench;
            try { bench = BenchModel.Resolve(model, randomWeights, seed); }
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
                threads > 0 ? threads : Environment.ProcessorCount,
                // Enough slots for every branch of every query at once, in either mode.
                slots > 0 ? slots : queries * width,
                kvMb << 20, chunk, seed);
            return new Options(workload, reps, warmup, !noLower, output);
        }
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var o = Options.Parse(new BenchArgs(args), "sampling.json", defaultReps: 5);
        if (o is null) return 2;
        var w = o.Workload;
        set_num_threads(w.Threads);
        var machine = Machine.Describe(w.Threads);
        AnsiConsole.MarkupLine($"[bold]sampling benchmark[/] on {Markup.Escape(machine.ToString())}");
        AnsiConsole.MarkupLine($"model: {Markup.Escape(w.Model.Description)}");
        AnsiConsole.MarkupLine($"workload: {w.Queries.Count} held-out queries x w={w.Width}, b={w.Branch}, d={w.Depth} x l={w.SegmentLength} " +
            $"= {w.Budget} tokens per trajectory, temperature {w.Sampling.Temperature}, {w.Slots} slots, {w.KvBudgetBytes >> 20} MiB KV, " +
            $"{o.Repetitions} repetitions");

        for (int i = 0; i < o.Warmup; i++)
            foreach (var mode in new[] { RunMode.Tree, RunMode.Sequential })
                await SamplingRunner.RunAsync(w, mode, -1 - i); // JIT tiering and allocator pages, discarded

        var runs = new List<RunRecord>();
        foreach (var (mode, rep) in RunModes.Schedule(o.Repetitions, o.LowerBound))
        {
            var r = await SamplingRunner.RunAsync(w, mode, rep);
            runs.Add(r);
            AnsiConsole.MarkupLine($"  {r.Mode,-22} rep {rep}: {r.Trajectories} trajectories in {r.WallSeconds:F2} s = {r.TrajPerSecond:F1} traj/s, " +
                $"computed {r.ComputedTokens}, calls {r.InferenceCalls}");
        }

        var summary = SamplingSummary.Of(runs);
        Print(w.Model, runs, summary);
        string path = BenchJson.Write(o.Out, new
        {
            benchmark = "sampling",
            machine = BenchJson.MachineJson(machine),
            workload = w.ToJson(),
            repetitions = o.Repetitions,
            warmup_runs_per_mode = o.Warmup,
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
            lower_bound = summary.LowerBound is { } lb ? new
            {
                label = "no sharing at all (each sample its own request): a lower bound, not the baseline",
                sequential_over_no_sharing_traj_per_s = lb.TrajPerSecond,
                sequential_over_no_sharing_computed_tokens = lb.ComputedTokens,
            } : null,
            goals = summary.Goals.Select(g => new { goal = g.Name, target = g.Target, measured = g.Measured, met = g.Met }),
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
        if (s.LowerBound is { } lb)
            goals.AddRow("[dim]sequential / no-sharing lower bound: traj/s, computed[/]", $"[dim]{lb.TrajPerSecond:F2}x, {lb.ComputedTokens:F2}x[/]");
        foreach (var g in s.Goals)
            goals.AddRow($"goal: {Markup.Escape(g.Name)} ({g.Target})", g.Met ? $"[green]{g.Measured:F2} met[/]" : $"[red]{g.Measured:F2} not met[/]");
        AnsiConsole.Write(goals);
    }

    internal static bool Report(IReadOnlyList<string> errors)
    {
        foreach (string e in errors) AnsiConsole.MarkupLine($"[red]{Markup.Escape(e)}[/]");
        return errors.Count == 0;
    }
}
