using System.ComponentModel;
using System.Diagnostics;
using Spectre.Console;
using Spectre.Console.Cli;
using TreePO.Bench.Common;
using TreePO.Grains.Training;
using TreePO.Hosting;
using TreePO.Hosting.Models;
using TreePO.Hosting.Options;
using TreePO.Hosting.Rollout;

namespace TreePO.Bench;

/// <summary>
/// `bench scale`: the cluster's distributed parts at 1 to 32 engines, with simulated engines (Engine:Simulated: a
/// cost model's step time slept, answers from a seeded script) so many fit on this machine. Each layout (engines x
/// silo processes, or x the in-process cluster) runs the same per-engine rollout workload through `rollout --cluster`'s
/// code (<see cref="RolloutRunner"/>): --queries-per-engine queries of w = 16 per engine, all in flight (weak scaling:
/// 512 queries at 32 engines), after a warm-up of one query per engine. Reports trajectories/s, scaling efficiency
/// (trajectories/s over engines x one engine's), engine utilisation (step time slept over wall time), the spread of
/// requests over the engines (the busiest engine's share over the mean share), Orleans messages sent per segment
/// request and the time a request spends outside its engine (tree's segment time minus engine's). Then one of 8 silo
/// processes is killed mid-run, and the trees lost and recomputed are counted. Writes scale.json and scale.png. Last,
/// the weight-sync fan-out to 1, 8 and 32 engines, direct and through a relay tree (<see cref="ScaleWeightSync"/>;
/// --weight-sync-only runs it alone), into scale-weightsync.json.
/// </summary>
public sealed class ScaleBenchmark : AsyncCommand<ScaleBenchmark.Settings>
{
    /// <summary>Engines spread over silo processes; 0 silos: the in-process cluster.</summary>
    sealed record Layout(int Engines, int Silos)
    {
        public string Name => Silos == 0 ? $"{Engines} x in-process" : $"{Engines} / {Silos} proc";
    }

    sealed record Point(Layout Layout, int Queries, int Trees, int Trajectories, double Wall, double TrajectoriesPerSecond, double Utilisation,
        double Spread, long Requests, double MessagesPerSegment, double OutsideMs, double InsideMs, long[] EngineRequests)
    {
        public double Efficiency { get; set; }
        public double Speedup { get; set; }
        /// <summary>Distinct trees each engine served, warm-up included.</summary>
        public int[] EngineTrees { get; init; } = [];
    }

    /// <summary>The command line (Spectre.Console.Cli settings, checked before the benchmark starts).</summary>
    public sealed class Settings : BenchSettings, ITakesOptionOverrides
    {
        [CommandOption("--layouts <LIST>"), Description("Engines x silo processes, comma-separated (default 1x1,2x2,4x4,8x4,8x8,16x8,32x8).")]
        public string Layouts { get; init; } = "1x1,2x2,4x4,8x4,8x8,16x8,32x8";
        [CommandOption("--in-process <LIST>"), Description("Engine counts run in the in-process cluster (default 1,8,32; 0: none).")]
        public string InProcess { get; init; } = "1,8,32";
        [CommandOption("--queries-per-engine <N>"), Description("Queries of w = 16 per engine, all in flight (default 16).")]
        public int QueriesPerEngine { get; init; } = 16;
        [CommandOption("--no-kill"), Description("Skip the run that kills one of 8 silo processes.")] public bool NoKill { get; init; }
        [CommandOption("--silo <PATH>"), Description("The silo program (default: the one built with the benchmarks).")] public string Silo { get; init; } = "";
        [CommandOption("--out <FILE>")] public string Out { get; init; } = "scale.json";
        [CommandOption("--plot <FILE>"), Description("The efficiency plot (default: --out with .png).")] public string Plot { get; init; } = "";
        [CommandOption("--weight-sync <LIST>"), Description("Engines x silo processes of the weight-sync fan-out phase (default 1x1,8x4,32x8; none: skip it).")]
        public string WeightSync { get; init; } = "1x1,8x4,32x8";
        [CommandOption("--weight-sync-only"), Description("Run the weight-sync fan-out phase alone.")] public bool WeightSyncOnly { get; init; }
        [CommandOption("--fanouts <LIST>"), Description("Weight fan-outs measured side by side (default direct,tree).")]
        public string Fanouts { get; init; } = $"{WeightFanout.Direct},{WeightFanout.Tree}";
        [CommandOption("--fanout-degree <N>"), Description("Engines each sender serves in the tree fan-out (default 2).")] public int FanoutDegree { get; init; } = 2;
        [CommandOption("--weight-layers <N>"), Description("Layers of Qwen2.5-0.5B's 24 in the fan-out's random model (default 24: 1,976 MB fp32).")]
        public int WeightLayers { get; init; } = 24;
        [CommandOption("--keep <DIR>"), Description("Reuse or keep the fan-out's written model in DIR.")] public string Keep { get; init; } = "";

        public string[] FanoutList => Fanouts.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        protected override void Check(List<string> problems)
        {
            AtLeast(problems, "--queries-per-engine", QueriesPerEngine, 1);
            Plan.LayoutsOf(this, problems);
            var weightSync = Plan.ParseLayouts("--weight-sync", WeightSync == "none" ? "" : WeightSync, problems);
            if (WeightSyncOnly && weightSync.Count == 0) problems.Add("--weight-sync-only: --weight-sync lists no layout");
            foreach (string f in FanoutList)
                if (!WeightFanout.Modes.Contains(f)) problems.Add($"--fanouts: unknown fan-out '{f}' ({string.Join(", ", WeightFanout.Modes)})");
            if (FanoutList.Length == 0) problems.Add("--fanouts: at least one fan-out");
            if (FanoutDegree is < 1 or > WeightFanout.MaxDegree) problems.Add($"--fanout-degree: must be in 1..{WeightFanout.MaxDegree}, got {FanoutDegree}");
            AtLeast(problems, "--weight-layers", WeightLayers, 1);
        }
    }

    /// <summary>What the settings and the options-tree overrides ask for.</summary>
    sealed record Plan(Layout[] Layouts, int QueriesPerEngine, bool Kill, string Silo, string Out, string Plot, Dictionary<string, string> Keys,
        ScaleWeightSync.Plan? WeightSync = null)
    {
        /// <summary>The bench's workload and engine (any options-tree key given as --section.key=value wins): trees of
        /// w = 16 as `train` shapes them (l = 16, a first fork of 4), and a GPU-class step (40 ms + 0.25 ms a token)
        /// rather than the built-in model's on this CPU (1.4 ms + 0.1 ms), so that the figures are those of the design
        /// and not of two cores running 8 silo processes.</summary>
        static readonly Dictionary<string, string> Defaults = new(StringComparer.OrdinalIgnoreCase)
        {
            ["Engine:Simulated"] = "true",
            ["Engine:Simulation:StepMs"] = "40",
            ["Engine:Simulation:TokenMs"] = "0.25",
            ["Tree:Width"] = "16",
            ["Tree:SegmentLength"] = "16",
            ["Tree:InitDivergenceMin"] = "4",
            ["Tree:InitDivergenceMax"] = "4",
            ["Cluster:ResponseTimeout"] = "00:05:00",
        };

        /// <summary>ENGINESxSILOS items of <paramref name="option"/>, comma-separated.</summary>
        public static List<Layout> ParseLayouts(string option, string text, List<string> problems)
        {
            var list = new List<Layout>();
            foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var xs = part.Split('x');
                if (xs.Length != 2 || !int.TryParse(xs[0], out int e) || !int.TryParse(xs[1], out int n) || e < 1 || n < 1 || e % n != 0)
                    problems.Add($"{option}: '{part}' is not ENGINESxSILOS with engines a multiple of silos (e.g. 8x4)");
                else list.Add(new Layout(e, n));
            }
            return list;
        }

        public static List<Layout> LayoutsOf(Settings s, List<string> problems)
        {
            var list = ParseLayouts("--layouts", s.Layouts, problems);
            list.AddRange(BenchSettings.IntList("--in-process", s.InProcess, 0, problems).Where(e => e > 0).Select(e => new Layout(e, 0)));
            if (!list.Any(l => l.Engines == 1)) problems.Add("--layouts/--in-process: one layout must have 1 engine (the baseline of the efficiency)");
            return list;
        }

        public static Plan From(Settings s)
        {
            var (overrides, _) = TreePOConfiguration.SplitOverrides(OptionOverrides.Captured);
            var keys = new Dictionary<string, string>(Defaults, StringComparer.OrdinalIgnoreCase);
            foreach (var o in overrides) keys[o.Key["TreePO:".Length..]] = o.Value ?? "";
            var weightSync = ParseLayouts("--weight-sync", s.WeightSync == "none" ? "" : s.WeightSync, []);
            return new Plan(s.WeightSyncOnly ? [] : [.. LayoutsOf(s, [])], s.QueriesPerEngine, !s.NoKill && !s.WeightSyncOnly, s.Silo, s.Out,
                s.Plot.Length > 0 ? s.Plot : Path.ChangeExtension(s.Out, ".png"), keys,
                weightSync.Count == 0 ? null : new ScaleWeightSync.Plan([.. weightSync.Select(l => (l.Engines, l.Silos))], s.FanoutList, s.FanoutDegree,
                    s.WeightLayers, s.Keep, Path.ChangeExtension(s.Out, null) + "-weightsync.json"));
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings options, CancellationToken cancellationToken) =>
        await RunAsync(Plan.From(options));

    static async Task<int> RunAsync(Plan settings)
    {
        string? siloDll = settings.Layouts.Any(l => l.Silos > 0) || settings.Kill || settings.WeightSync is not null ? SiloProgram.Locate(settings.Silo) : "";
        if (siloDll is null) return 2;
        TreePOOptions options;
        try { options = ScaleCluster.Options(settings.Keys); }
        catch (TreePOOptionsException e) { AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]"); return 2; }
        var text = ModelText.Load(ModelFolder.Resolve(options.Model.Path.Length > 0 ? options.Model.Path : null), options);
        settings.Keys["Model:Path"] = text.Folder;
        if (settings.Layouts.Length == 0) return await ScaleWeightSync.RunAsync(settings.WeightSync!, siloDll!, settings.Keys);   // --weight-sync-only
        var config = options.TreeConfig();
        var sim = options.Engine.Simulation;
        var machine = Machine.Describe(1);
        var clock = Stopwatch.StartNew();
        AnsiConsole.MarkupLine(Markup.Escape($"scale benchmark: simulated engines, step {sim.StepMs} ms + {sim.TokenMs} ms/token + {sim.ContextTokenMs} ms/context token, " +
            $"{options.Engine.MaxSlots} slots; {settings.QueriesPerEngine} queries per engine, w={config.Width} d={config.Depth} l={config.SegmentLength} b={config.Branch}; load {Load()}"));
        AnsiConsole.MarkupLine(Markup.Escape(machine.ToString()));

        var points = new List<Point>();
        object? kill = null;
        try
        {
            foreach (var layout in settings.Layouts)
            {
                var point = await MeasureAsync(layout, settings, siloDll, text);
                points.Add(point);
                AnsiConsole.MarkupLine(Markup.Escape($"  {layout.Name}: {point.Trees} trees, {point.Wall:F1} s, {point.TrajectoriesPerSecond:F1} traj/s, " +
                    $"utilisation {point.Utilisation:P0}, spread {point.Spread:F2}, {point.MessagesPerSegment:F1} msgs/segment, outside {point.OutsideMs:F1} ms ({clock.Elapsed.TotalSeconds:F0} s so far)"));
            }
            if (settings.Kill) kill = await KillAsync(settings, siloDll!, text, points.FirstOrDefault(p => p.Layout == new Layout(8, 8))?.Wall);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException or ClusterUnavailableException or HttpRequestException or TaskCanceledException)
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]");
            return 3;
        }

        foreach (var p in points)
        {
            var one = points.FirstOrDefault(x => x.Layout.Engines == 1 && (x.Layout.Silos == 0) == (p.Layout.Silos == 0)) ?? points.First(x => x.Layout.Engines == 1);
            p.Speedup = p.TrajectoriesPerSecond / one.TrajectoriesPerSecond;
            p.Efficiency = p.Speedup / p.Layout.Engines;
        }
        var table = new Table().AddColumns("engines / silos", "traj/s", "speed-up", "efficiency", "utilisation", "spread", "msgs/seg", "outside ms", "in engine ms");
        foreach (var p in points)
            table.AddRow(p.Layout.Name, p.TrajectoriesPerSecond.ToString("F1"), $"{p.Speedup:F2}x", p.Efficiency.ToString("P0"), p.Utilisation.ToString("P0"),
                p.Spread.ToString("F2"), p.MessagesPerSegment.ToString("F1"), p.OutsideMs.ToString("F1"), p.InsideMs.ToString("F0"));
        AnsiConsole.Write(table);
        var goals = new List<string>();
        void Goal(Layout l, double min)
        {
            var p = points.FirstOrDefault(x => x.Layout == l);
            goals.Add(p is null ? $"{l.Name}: not measured" : $"{l.Name}: {p.Speedup:F1}x one engine (goal >= {min}x: {(p.Speedup >= min ? "met" : "NOT met")})");
        }
        Goal(new Layout(8, 4), 7);
        Goal(new Layout(32, 8), 26);
        double worst = points.Where(p => p.Layout.Engines > 1).Select(p => p.Spread).DefaultIfEmpty(1).Max();
        goals.Add($"busiest engine {worst:F2}x the mean share at worst (goal <= 1.15: {(worst <= 1.15 ? "met" : "NOT met")})");
        foreach (string g in goals) AnsiConsole.MarkupLine(Markup.Escape(g));
        if (kill is not null) AnsiConsole.MarkupLine(Markup.Escape($"killed silo: {System.Text.Json.JsonSerializer.Serialize(kill)}"));

        TreePO.Hosting.Reporting.PanelPlot.SavePng(settings.Plot,
        [
            new TreePO.Hosting.Reporting.Panel("scaling efficiency (traj/s over engines x one engine's)", "engines", "efficiency",
                [.. points.GroupBy(p => p.Layout.Silos == 0 ? "in-process" : "silo processes").Select(g =>
                    new TreePO.Hosting.Reporting.Series(g.Key, [.. g.Select(p => (double)p.Layout.Engines)], [.. g.Select(p => p.Efficiency)])),
                 new TreePO.Hosting.Reporting.Series("ideal", [1, 32], [1, 1])]),
            new TreePO.Hosting.Reporting.Panel("trajectories/s", "engines", "trajectories/s",
                [.. points.GroupBy(p => p.Layout.Silos == 0 ? "in-process" : "silo processes").Select(g =>
                    new TreePO.Hosting.Reporting.Series(g.Key, [.. g.Select(p => (double)p.Layout.Engines)], [.. g.Select(p => p.TrajectoriesPerSecond)]))]),
        ]);
        string written = BenchJson.Write(settings.Out, new
        {
            benchmark = "scale",
            machine = BenchJson.MachineJson(machine),
            load_average = Load(),
            seconds = clock.Elapsed.TotalSeconds,
            engine = new
            {
                simulated = true, step_ms = sim.StepMs, token_ms = sim.TokenMs, context_token_ms = sim.ContextTokenMs, slots = options.Engine.MaxSlots,
                response_mean = sim.ResponseMean, response_sd = sim.ResponseStdDev
            },
            queries_per_engine = settings.QueriesPerEngine,
            width = config.Width, depth = config.Depth, segment_length = config.SegmentLength, branch = config.Branch,
            options = settings.Keys,
            points = points.Select(p => new
            {
                engines = p.Layout.Engines, silo_processes = p.Layout.Silos, in_process = p.Layout.Silos == 0, queries = p.Queries, trees = p.Trees,
                trajectories = p.Trajectories, wall_s = p.Wall, trajectories_per_s = p.TrajectoriesPerSecond, speedup = p.Speedup, efficiency = p.Efficiency,
                utilisation = p.Utilisation, spread = p.Spread, requests = p.Requests, engine_requests = p.EngineRequests, engine_trees = p.EngineTrees,
                messages_per_segment = p.MessagesPerSegment, outside_engine_ms = p.OutsideMs, in_engine_ms = p.InsideMs,
            }),
            goals,
            killed_silo = kill,
        });
        AnsiConsole.MarkupLine(Markup.Escape($"wrote {written} and {Path.GetFullPath(settings.Plot)} in {clock.Elapsed.TotalMinutes:F1} min"));
        return settings.WeightSync is null ? 0 : await ScaleWeightSync.RunAsync(settings.WeightSync, siloDll!, settings.Keys);
    }

    static string Load() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "";

    static async Task<ScaleCluster> StartAsync(Layout layout, Plan settings, string? siloDll, IReadOnlyDictionary<string, string>? extra = null)
    {
        var keys = new Dictionary<string, string>(settings.Keys, StringComparer.OrdinalIgnoreCase);
        foreach (var kv in extra ?? new Dictionary<string, string>()) keys[kv.Key] = kv.Value;
        return layout.Silos == 0
            ? await ScaleCluster.StartInProcessAsync(layout.Engines, keys)
            : await ScaleCluster.StartProcessesAsync(siloDll!, layout.Silos, layout.Engines / layout.Silos, keys);
    }

    static async Task<RolloutResult> RolloutAsync(ScaleCluster cluster, ModelText text, Plan settings, string batch, int queries, ulong seedOffset)
    {
        var options = ScaleCluster.Options(settings.Keys);
        var runner = new RolloutRunner(cluster.Client, text, options) { BatchId = batch, Concurrency = queries, ClusterDescription = batch };
        string dir = Directory.CreateTempSubdirectory("treepo-scale-").FullName;
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(10));
            var result = await runner.RunAsync(RolloutInput.BuiltIn(options.Seed + seedOffset, queries), dir, null, deadline.Token);
            if (result.Summary.Trees != queries)
                throw new InvalidOperationException($"{batch}: {result.Summary.Trees} of {queries} trees completed: {string.Join("; ", result.Summary.SkippedReasons)}");
            return result;
        }
        finally { Directory.Delete(dir, true); }
    }

    static async Task<Point> MeasureAsync(Layout layout, Plan settings, string? siloDll, ModelText text)
    {
        await using var cluster = await StartAsync(layout, settings, siloDll);
        try
        {
            await RolloutAsync(cluster, text, settings, $"warm-{layout.Engines}-{layout.Silos}", layout.Engines, 1000);
            var before = await cluster.ScrapeAsync();
            var beforeEngines = await EngineRequestsAsync(cluster, layout.Engines);
            int queries = settings.QueriesPerEngine * layout.Engines;
            var s = (await RolloutAsync(cluster, text, settings, $"scale-{layout.Engines}-{layout.Silos}", queries, 0)).Summary;
            var m = await cluster.ScrapeAsync() - before;
            var after = await EngineStatsAsync(cluster, layout.Engines);
            var engines = after.Select(x => x.Requests).Zip(beforeEngines, (a, b) => a - b).ToArray();
            long requests = engines.Sum();
            double busy = m["treepo_engine_step_duration_seconds_sum"];
            double segments = m["treepo_trees_segment_duration_seconds_count"], inEngine = m["treepo_simulation_request_duration_seconds_count"];
            double segmentMs = segments > 0 ? 1000 * m["treepo_trees_segment_duration_seconds_sum"] / segments : 0;
            double insideMs = inEngine > 0 ? 1000 * m["treepo_simulation_request_duration_seconds_sum"] / inEngine : 0;
            // Messages the silos sent: to other silos (their size histogram counts each) and within a silo.
            double messages = m.Sum("orleans_messaging_sent_messages_size", "_count") + m.Sum("orleans_messaging_sent_local", "");
            return new Point(layout, queries, s.Trees, s.Trajectories, s.WallSeconds, s.TrajectoriesPerSecond, busy / (layout.Engines * s.WallSeconds),
                requests == 0 ? 0 : engines.Max() / ((double)requests / layout.Engines), requests, requests == 0 ? 0 : messages / requests,
                segmentMs - insideMs, insideMs, engines)
            { EngineTrees = [.. after.Select(x => x.TreesServed)] };
        }
        catch
        {
            foreach (var p in cluster.Processes) AnsiConsole.WriteLine($"--- {p.Name}\n{p.Tail(15)}");
            throw;
        }
    }

    /// <summary>Requests each engine of the cluster has served so far: every device of every active silo.</summary>
    static async Task<long[]> EngineRequestsAsync(ScaleCluster cluster, int engines) =>
        [.. (await EngineStatsAsync(cluster, engines)).Select(s => s.Requests)];

    static async Task<List<TreePO.Grains.Engines.EngineStats>> EngineStatsAsync(ScaleCluster cluster, int engines)
    {
        var hosts = (await cluster.Client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true)).Keys.ToList();
        var stats = new List<TreePO.Grains.Engines.EngineStats>();
        foreach (var silo in hosts)
            for (int d = 0; d < engines / hosts.Count; d++)
                stats.Add(await cluster.Client.GetGrain<TreePO.Grains.Engines.IEngineGrain>(TreePO.Grains.Placement.SiloKey.For(silo, d)).GetStatsAsync());
        return stats;
    }

    /// <summary>8 engines on 8 silo processes; the last silo (not the client's gateway) is SIGKILLed once 40 % of an
    /// undisturbed run's time has passed. Returns what the rollout lost and recomputed.</summary>
    static async Task<object> KillAsync(Plan settings, string siloDll, ModelText text, double? undisturbed)
    {
        var layout = new Layout(8, 8);
        var fastDetection = new Dictionary<string, string> { ["Cluster:ProbeTimeout"] = "00:00:01", ["Cluster:MissedProbesLimit"] = "2" };
        await using var cluster = await StartAsync(layout, settings, siloDll, fastDetection);
        await RolloutAsync(cluster, text, settings, "kill-warm", layout.Engines, 1000);
        int queries = settings.QueriesPerEngine * layout.Engines;
        var run = RolloutAsync(cluster, text, settings, "kill", queries, 0);
        await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(0.4 * (undisturbed ?? 10))));
        bool killedInFlight = !run.IsCompleted;
        cluster.Processes[^1].Kill();
        var s = (await run).Summary;
        return new
        {
            silo_processes = 8, engines = 8, queries, killed_in_flight = killedInFlight, killed_after_s = 0.4 * (undisturbed ?? 10),
            trees = s.Trees, wall_s = s.WallSeconds, undisturbed_wall_s = undisturbed, trajectories_per_s = s.TrajectoriesPerSecond,
            tree_restarts = s.TreeRestarts, resumed_trees = s.ResumedTrees, resumed_segments = s.ResumedSegments, recomputed_segments = s.RecomputedSegments,
            trees_started_over = s.TreesStartedOver, failovers = s.Failovers, retried_requests = s.RetriedRequests, recomputed_tokens = s.RecomputedTokens,
        };
    }
}
