using System.ComponentModel;
using System.Diagnostics;
using Spectre.Console;
using Spectre.Console.Cli;
using TreePO.Bench.Common;
using TreePO.Hosting;
using TreePO.Hosting.Models;
using TreePO.Hosting.Options;
using TreePO.Hosting.Rollout;

namespace TreePO.Bench;

/// <summary>
/// `bench load`: many concurrent trees (default 1,000, the built-in model, w=4 d=3 l=8) against ONE engine whose KV
/// budget (default 8 MB) and slots (default 8) are far below what the trees would need at once. Every tree must
/// complete within --timeout seconds (else the run fails: a deadlock or starvation shows as a timeout). Reports the
/// peak resident set size against the process baseline (measured after the silo and model are up, before the run)
/// plus the KV budget plus a stated overhead (--overheadmb, default 512: grain activations, finished trees, Orleans
/// messages). Options: --trees N, --timeout S, --overheadmb N, --out load.json, and --section.key=value overrides.
/// </summary>
public sealed class LoadBenchmark : AsyncCommand<LoadBenchmark.Settings>
{
    public sealed class Settings : BenchSettings, ITakesOptionOverrides
    {
        [CommandOption("--trees <N>"), Description("Concurrent trees (default 1000).")] public int Trees { get; init; } = 1000;
        [CommandOption("--timeout <S>"), Description("Seconds every tree must finish within (default 600).")] public int Timeout { get; init; } = 600;
        [CommandOption("--overheadmb <N>"), Description("Stated overhead in MB over the baseline and the KV budget (default 512).")] public int OverheadMb { get; init; } = 512;
        [CommandOption("--out <FILE>")] public string Out { get; init; } = "load.json";

        protected override void Check(List<string> problems)
        {
            AtLeast(problems, "--trees", Trees, 1);
            AtLeast(problems, "--timeout", Timeout, 1);
            AtLeast(problems, "--overheadmb", OverheadMb, 0);
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        // Small trees and a starved engine unless the command line says otherwise.
        string[] defaults = ["--engine.kvbudgetmb=8", "--engine.maxslots=8", "--engine.threads=1", "--tree.width=4", "--tree.depth=3", "--tree.segmentlength=8", "--tree.branch=2"];
        var (overrides, _) = TreePOConfiguration.SplitOverrides(OptionOverrides.Captured);
        foreach (var (k, v) in TreePOConfiguration.SplitOverrides(defaults).Overrides) overrides.TryAdd(k, v);
        int trees = settings.Trees, timeout = settings.Timeout, overheadMb = settings.OverheadMb;
        string outPath = settings.Out;

        TreePOOptions options;
        try { options = TreePOConfiguration.Bind(new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddTreePOSources(overrides).Build()); }
        catch (TreePOOptionsException e) { AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]"); return 2; }
        options.Engine.Devices = "1";
        var text = ModelText.Load(ModelFolder.Resolve(options.Model.Path.Length > 0 ? options.Model.Path : null), options);
        options.Model.Path = text.Folder;
        var config = options.TreeConfig();
        var machine = Machine.Describe(options.Engine.Threads);
        AnsiConsole.MarkupLine(Markup.Escape($"load benchmark: {trees} concurrent trees, model {text.Folder}, w={config.Width} d={config.Depth} l={config.SegmentLength} b={config.Branch}; " +
            $"one engine, KV budget {options.Engine.KvBudgetMB} MB, {options.Engine.MaxSlots} slots, {options.Engine.Threads} thread(s); timeout {timeout} s"));
        AnsiConsole.MarkupLine(Markup.Escape(machine.ToString()));

        await using var silo = await EmbeddedSilo.StartAsync(options);
        var input = RolloutInput.BuiltIn(options.Seed, trees);
        // Warm the engine (one tree) so the baseline includes the loaded model and the engine's KV buffers.
        var warm = new RolloutRunner(silo.Client, text, options) { BatchId = "warm", Concurrency = 1 };
        await warm.RunAsync(RolloutInput.BuiltIn(options.Seed + 1, 1), Path.Combine(Path.GetTempPath(), $"treepo-load-warm-{Environment.ProcessId}"));
        ProcessMemory.Settle();
        long baseline = ProcessMemory.RssBytes();
        bool peakReset = ProcessMemory.ResetPeak();

        long sampledPeak = baseline;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                sampledPeak = Math.Max(sampledPeak, ProcessMemory.RssBytes());
                try { await Task.Delay(50, sampling.Token); } catch (OperationCanceledException) { }
            }
        });

        var runner = new RolloutRunner(silo.Client, text, options) { BatchId = "load", Concurrency = trees, ClusterDescription = "embedded silo, one engine" };
        string outDir = Directory.CreateTempSubdirectory("treepo-load-").FullName;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(timeout));
        var clock = Stopwatch.StartNew();
        RolloutResult? result = null;
        bool timedOut = false;
        try { result = await runner.RunAsync(input, outDir, null, deadline.Token); }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested) { timedOut = true; }
        double seconds = clock.Elapsed.TotalSeconds;
        sampling.Cancel();
        await sampler;
        long peak = peakReset ? Math.Max(ProcessMemory.PeakRssBytes(), sampledPeak) : sampledPeak;
        long budget = options.Engine.KvBudgetMB << 20, overhead = (long)overheadMb << 20;
        long allowed = baseline + budget + overhead;
        long kvPerToken = TreePO.Engine.Model.Qwen2Config.Load(Path.Combine(text.Folder, "config.json"))
            .KvBytesPerToken(TreePO.Engine.EngineOptions.ElementTypeOf(options.Engine.DType)!.Value);   // validated with the options
        long wouldNeed = result is null ? 0 : result.Trees.Sum(t => (long)(t.Query.PromptTokens.Length + config.ResponseBudget) * config.Width) * kvPerToken;

        int completed = result?.Summary.Trees ?? 0;
        bool allDone = !timedOut && completed == trees && result!.Summary.Skipped == 0;
        bool underBound = peak <= allowed;
        static string Mb(long b) => (b / (double)(1 << 20)).ToString("F0");
        var table = new Table().AddColumns("figure", "value");
        table.AddRow("trees completed", $"{completed} / {trees}" + (timedOut ? $" (TIMED OUT after {timeout} s)" : ""));
        table.AddRow("wall time", $"{seconds:F1} s");
        table.AddRow("trajectories", (result?.Summary.Trajectories ?? 0).ToString());
        table.AddRow("KV the trees would need at once", $"{Mb(wouldNeed)} MB ({kvPerToken} B/token)");
        table.AddRow("configured KV budget", $"{options.Engine.KvBudgetMB} MB");
        table.AddRow("baseline RSS (before the run)", $"{Mb(baseline)} MB");
        table.AddRow("peak RSS during the run", $"{Mb(peak)} MB{(peakReset ? "" : " (sampled every 50 ms)")}");
        table.AddRow("bound: baseline + budget + overhead", $"{Mb(allowed)} MB (overhead {overheadMb} MB)");
        table.AddRow("peak over baseline", $"{Mb(peak - baseline)} MB");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine(allDone && underBound ? "[green]PASS[/]: all trees completed, peak under the bound"
            : $"[red]FAIL[/]: {(allDone ? "" : "not all trees completed; ")}{(underBound ? "" : "peak over the bound")}");

        string path = BenchJson.Write(outPath, new
        {
            benchmark = "load",
            machine = BenchJson.MachineJson(machine),
            model = text.Folder,
            trees,
            completed,
            skipped = result?.Summary.SkippedReasons ?? [],
            timed_out = timedOut,
            timeout_s = timeout,
            wall_s = seconds,
            trajectories = result?.Summary.Trajectories ?? 0,
            width = config.Width, depth = config.Depth, segment_length = config.SegmentLength, branch = config.Branch,
            kv_budget_mb = options.Engine.KvBudgetMB,
            max_slots = options.Engine.MaxSlots,
            engine_threads = options.Engine.Threads,
            kv_bytes_per_token = kvPerToken,
            kv_would_need_bytes = wouldNeed,
            baseline_rss_bytes = baseline,
            peak_rss_bytes = peak,
            peak_from_kernel_hwm = peakReset,
            overhead_allowance_bytes = overhead,
            bound_bytes = allowed,
            pass = allDone && underBound,
        });
        AnsiConsole.MarkupLine(Markup.Escape($"wrote {path}"));
        try { Directory.Delete(outDir, true); } catch (IOException) { }
        return allDone && underBound ? 0 : 1;
    }
}
