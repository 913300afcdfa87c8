using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Spectre.Console;
using TreePO.Bench.Common;
using TreePO.Engine.Model;
using TreePO.Grains.Engines;
using TreePO.Grains.Resilience;
using TreePO.Grains.Routing;
using TreePO.Grains.Training;
using TreePO.Grains.WeightStream;
using TreePO.Hosting;
using TreePO.Hosting.Options;

namespace TreePO.Bench;

/// <summary>
/// `bench scale`'s weight-sync phase (alone: `bench scale --weight-sync-only`). A trainer grain in this process (a
/// silo of the localhost cluster without engines of its own) publishes a random model with Qwen2.5-0.5B's shapes
/// (fp32, WeightSyncBenchmark's), and 1, 8 and 32 simulated engines spread over silo processes (8 on 4, 32 on 8) pull
/// it with the production fan-out (EngineSync, the trainer's at a version change), forced, through the real weight
/// stream into sinks that count and discard the bytes (SimulatedEngine). Each fan-out (--fanouts: direct, every engine
/// from the trainer's silo; tree, engines relaying to --fanout-degree more while they receive) is measured side by
/// side on the same cluster: wall time of the whole fan-out, each engine's pull time, aggregate MB/s, the bytes the
/// trainer's silo sent, time per engine. Then the times are scaled to Qwen2.5-7B's bytes (fp32 and bf16) with the
/// measured rates, labelled EXTRAPOLATION. Writes its own JSON (--out's name with -weightsync). With
/// --cluster.weightstreammbps=N every silo's weight stream sends at most N MB/s (EMULATED LINKS: one machine's
/// loopback has no link per process, so without it both fan-outs are bound by the same cores).
/// </summary>
public static class ScaleWeightSync
{
    /// <summary>Engines x silo processes, the fan-outs, the tree's degree, the model's layers, where to keep it, the JSON.</summary>
    public sealed record Plan((int Engines, int Silos)[] Layouts, string[] Fanouts, int Degree, int Layers, string Keep, string Out);

    sealed record Point(int Engines, int Silos, string Fanout, int Synced, double Wall, double[] Pulls, long Egress, Dictionary<string, int> Paths)
    {
        public double Median => Medians.Of(Pulls);
        public double PerEngine => Wall / Engines;
    }

    /// <summary>Qwen2.5-7B's shapes (config.json of the released model): the extrapolation's bytes.</summary>
    static readonly Qwen2Config Qwen25_7B = Qwen2Config.Qwen25_0_5B with
    {
        VocabSize = 152064,
        HiddenSize = 3584,
        IntermediateSize = 18944,
        NumHiddenLayers = 28,
        NumAttentionHeads = 28,
        NumKeyValueHeads = 4,
        TieWordEmbeddings = false,
    };

    /// <summary>Parameters of a Qwen2 model: embeddings (and an untied head), per layer q/k/v with biases, o, the
    /// gated MLP and two norms, and the final norm.</summary>
    public static long Parameters(Qwen2Config c)
    {
        long h = c.HiddenSize, kv = (long)c.NumKeyValueHeads * c.HeadDim;
        long layer = h * h + h + 2 * (h * kv + kv) + h * h + 3 * h * c.IntermediateSize + 2 * h;
        return c.VocabSize * h * (c.TieWordEmbeddings ? 1 : 2) + c.NumHiddenLayers * layer + h;
    }

    /// <summary>The emulated link of every silo (Cluster:WeightStreamMBps given to `bench scale`), 0 when none.</summary>
    static int LinkMbps(IReadOnlyDictionary<string, string> keys) =>
        keys.TryGetValue("Cluster:WeightStreamMBps", out string? v) && int.TryParse(v, out int mbps) ? mbps : 0;

    static string Load() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "";

    public static async Task<int> RunAsync(Plan plan, string siloDll, IReadOnlyDictionary<string, string> keys)
    {
        string loadBefore = Load();
        var clock = Stopwatch.StartNew();
        string modelDir = plan.Keep.Length > 0 ? plan.Keep : Directory.CreateTempSubdirectory("treepo-scale-weights-").FullName;
        try
        {
            long bytes = WeightSyncBenchmark.WriteModel(modelDir, plan.Layers);
            int silos = plan.Layouts.Max(l => l.Silos), perSilo = plan.Layouts.Max(l => l.Engines / l.Silos);
            AnsiConsole.MarkupLine(Markup.Escape($"weight-sync fan-out: {bytes / 1e6:F0} MB of fp32 weights (random, Qwen2.5-0.5B shapes, {plan.Layers} layers) " +
                $"to {string.Join(", ", plan.Layouts.Select(l => $"{l.Engines} engines on {l.Silos} processes"))}; fan-outs {string.Join(", ", plan.Fanouts)} " +
                $"(tree degree {plan.Degree}); {silos} silo processes of {perSilo} simulated engines; load {loadBefore}"));
            if (LinkMbps(keys) > 0)
                AnsiConsole.MarkupLine(Markup.Escape($"EMULATED LINKS: every silo's weight stream sends at most {LinkMbps(keys)} MB/s (Cluster:WeightStreamMBps), as if each process had a network link of its own"));
            await using var cluster = await ScaleCluster.StartProcessesAsync(siloDll, silos, perSilo, keys);
            int[] ports = ScaleoutBenchmark.FreePorts(2);
            var options = TreePOConfiguration.Load([.. ScaleCluster.Arguments(keys), "--cluster.clustering=localhost", $"--cluster.clusterId={cluster.ClusterId}",
                $"--cluster.primarySiloPort={cluster.PrimarySiloPort}", $"--cluster.siloPort={ports[0]}", $"--cluster.gatewayPort={ports[1]}", "--engine.devices=0"]);
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Logging.SetMinimumLevel(LogLevel.Error);
            builder.UseOrleans(silo => { silo.UseTreePOClustering(options); silo.AddTreePO(options); });
            using var host = builder.Build();
            await host.StartAsync();
            var points = new List<Point>();
            double trainerLoad;
            long trainerRss;
            try
            {
                var grains = host.Services.GetRequiredService<IGrainFactory>();
                var self = host.Services.GetRequiredService<Orleans.Runtime.ILocalSiloDetails>().SiloAddress;
                var mgmt = grains.GetGrain<IManagementGrain>(0);
                var wait = Stopwatch.StartNew();
                List<Orleans.Runtime.SiloAddress> engineSilos;
                while ((engineSilos = [.. (await mgmt.GetHosts(onlyActive: true)).Keys.Where(k => !k.Equals(self)).OrderBy(k => k.Endpoint.Port)]).Count < silos)
                {
                    if (wait.Elapsed > TimeSpan.FromSeconds(90)) throw new TimeoutException($"the trainer's silo did not see the {silos} engine silos within 90 s");
                    await Task.Delay(200);
                }
                var (trainer, trainerKey) = await WeightSyncBenchmark.LocalTrainerAsync(grains, self, "scale-weights");
                var load = Stopwatch.StartNew();
                await trainer.InitializeAsync(new TrainerSetup(modelDir, 1, new TrainerSettings(WeightChunkBytes: 16 << 20)));
                await trainer.GetWeightManifestAsync(1);   // hashed once per version, before any fan-out
                trainerLoad = load.Elapsed.TotalSeconds;
                trainerRss = ProcessMemory.RssBytes();
                AnsiConsole.MarkupLine(Markup.Escape($"  trainer {trainerKey} loaded and hashed version 1 here in {trainerLoad:F1} s (RSS {trainerRss / 1e9:F1} GB)"));
                var server = host.Services.GetRequiredService<WeightStreamServer>();
                int round = 0;
                // Not counted: a first pull pays for JIT, first connections and fresh buffers (2.9 s against 0.7 s at 664 MB).
                var warm = await FanOutAsync(grains, trainerKey, [new EngineAddress(engineSilos[0], 0)], 1, new WeightFanout(), server, "warm-up");
                AnsiConsole.MarkupLine(Markup.Escape($"  warm-up pull (not counted): {warm.Wall:F1} s"));
                foreach (var (engineCount, siloCount) in plan.Layouts)
                {
                    // Engines interleaved over the processes: the trainer's first children sit in different ones.
                    List<EngineAddress> engines = [.. Enumerable.Range(0, engineCount / siloCount)
                        .SelectMany(d => engineSilos.Take(siloCount).Select(s => new EngineAddress(s, d)))];
                    await Task.WhenAll(engines.Select(e => grains.GetGrain<IEngineGrain>(e.Key).GetLoadAsync()));   // activated before the clock
                    foreach (string fanout in plan.Fanouts)
                    {
                        var point = await FanOutAsync(grains, trainerKey, engines, siloCount, new WeightFanout(fanout, plan.Degree), server, $"bench-{++round}");
                        points.Add(point);
                        AnsiConsole.MarkupLine(Markup.Escape($"  {engineCount} engines / {siloCount} proc, {fanout}: {point.Wall:F1} s ({point.PerEngine:F2} s an engine), " +
                            $"pulls {point.Pulls.Min():F1} / {point.Median:F1} / {point.Pulls.Max():F1} s, {engineCount * bytes / 1e6 / point.Wall:F0} MB/s in all, " +
                            $"trainer sent {point.Egress / 1e9:F1} GB, paths {string.Join(" ", point.Paths.Select(p => $"{p.Key} {p.Value}"))}; load {Load()}"));
                    }
                }
                await trainer.CloseAsync();
            }
            finally
            {
                using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                try { await host.StopAsync(stop.Token); } catch (OperationCanceledException) { }
            }
            return Report(plan, points, bytes, trainerLoad, trainerRss, loadBefore, clock.Elapsed.TotalSeconds, LinkMbps(keys));
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException or TaskCanceledException)
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]");
            return 3;
        }
        finally
        {
            if (plan.Keep.Length == 0) try { Directory.Delete(modelDir, true); } catch (IOException) { }
        }
    }

    /// <summary>One forced fan-out of version 1 to <paramref name="engines"/> through EngineSync, as the trainer's.</summary>
    static async Task<Point> FanOutAsync(IGrainFactory grains, string trainerKey, List<EngineAddress> engines, int silos, WeightFanout fanout,
        WeightStreamServer server, string round)
    {
        var reports = new ConcurrentBag<WeightSyncReport>();
        var sync = EngineSync.Planned(engines, fanout, $"{trainerKey}/1/{round}", async (e, relay) =>
        {
            var r = await grains.GetGrain<IEngineGrain>(e.Key).SyncWeightsWithReportAsync(trainerKey, 1, new WeightSyncOptions(Force: true, Relay: relay));
            reports.Add(r);
            return r.Version;
        });
        long before = server.BytesSent;
        var clock = Stopwatch.StartNew();
        int synced = await EngineSync.SyncAllAsync(engines, sync, _ => true, $"{trainerKey} version 1", 1, NullLogger.Instance, RetryPolicy.TreeAsk, CancellationToken.None);
        double wall = clock.Elapsed.TotalSeconds;
        if (synced != engines.Count) throw new InvalidOperationException($"{fanout.Mode} fan-out: {synced} of {engines.Count} engines synced");
        return new Point(engines.Count, silos, fanout.Mode, synced, wall, [.. reports.Select(r => r.TotalSeconds)], server.BytesSent - before,
            reports.GroupBy(r => r.Path).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => g.Count()));
    }

    static int Report(Plan plan, List<Point> points, long bytes, double trainerLoad, long trainerRss, string loadBefore, double seconds, int linkMbps)
    {
        var table = new Table().AddColumns("engines / silos", "fan-out", "wall s", "s / engine", "pull min s", "median s", "max s", "MB/s all", "trainer sent GB");
        foreach (var p in points)
            table.AddRow($"{p.Engines} / {p.Silos} proc", p.Fanout, p.Wall.ToString("F1"), p.PerEngine.ToString("F2"), p.Pulls.Min().ToString("F1"),
                p.Median.ToString("F1"), p.Pulls.Max().ToString("F1"), (p.Engines * bytes / 1e6 / p.Wall).ToString("F0"), (p.Egress / 1e9).ToString("F1"));
        AnsiConsole.Write(table);
        // Linear or not: each fan-out's wall time at the most engines over its time at the fewest.
        var growth = new List<string>();
        foreach (var g in points.GroupBy(p => p.Fanout))
        {
            var first = g.MinBy(p => p.Engines)!;
            var last = g.MaxBy(p => p.Engines)!;
            growth.Add($"{g.Key}: {last.Engines} engines take {last.Wall / first.Wall:F1}x the time of {first.Engines} ({(double)last.Engines / first.Engines:F0}x the engines)");
        }
        foreach (string line in growth) AnsiConsole.MarkupLine(Markup.Escape(line));
        long params7b = Parameters(Qwen25_7B);
        double fp32 = params7b * 4.0 / bytes, bf16 = params7b * 2.0 / bytes;
        var extrapolated = new Table().Title("EXTRAPOLATION to Qwen2.5-7B (measured times x bytes ratio; not measured)")
            .AddColumns("engines / silos", "fan-out", "7B fp32 s", "7B bf16 s");
        foreach (var p in points)
            extrapolated.AddRow($"{p.Engines} / {p.Silos} proc", p.Fanout, (p.Wall * fp32).ToString("F0"), (p.Wall * bf16).ToString("F0"));
        AnsiConsole.Write(extrapolated);
        AnsiConsole.MarkupLine(Markup.Escape($"EXTRAPOLATION: Qwen2.5-7B has {params7b / 1e9:F2} B parameters, {params7b * 4 / 1e9:F1} GB in fp32 ({fp32:F1}x these weights), " +
            $"{params7b * 2 / 1e9:F1} GB in bf16 ({bf16:F1}x); the times assume this run's rates hold at that size (fixed costs scaled too)"));
        string written = BenchJson.Write(plan.Out, new
        {
            benchmark = "scale-weightsync",
            machine = BenchJson.MachineJson(Machine.Describe(1)),
            load_average_before = loadBefore,
            load_average_after = Load(),
            seconds,
            model = $"random, Qwen2.5-0.5B shapes with {plan.Layers} layers, fp32",
            weights_bytes = bytes,
            chunk_bytes = 16 << 20,
            engine = "simulated (bytes counted and discarded)",
            relay_ring_bytes = WeightRelay.DefaultCapacity,
            emulated_link_mb_s_per_silo = linkMbps,
            tree_degree = plan.Degree,
            trainer_load_s = trainerLoad,
            trainer_rss_bytes = trainerRss,
            points = points.Select(p => new
            {
                engines = p.Engines, silo_processes = p.Silos, fanout = p.Fanout, synced = p.Synced, wall_s = p.Wall, s_per_engine = p.PerEngine,
                pull_min_s = p.Pulls.Min(), pull_median_s = p.Median, pull_max_s = p.Pulls.Max(), pull_seconds = p.Pulls.Order().ToArray(),
                aggregate_mb_s = p.Engines * bytes / 1e6 / p.Wall, trainer_egress_bytes = p.Egress, paths = p.Paths,
            }),
            growth,
            extrapolation = new
            {
                label = "EXTRAPOLATION",
                model = "Qwen2.5-7B",
                parameters = params7b,
                fp32_bytes = params7b * 4,
                bf16_bytes = params7b * 2,
                fp32_ratio = fp32,
                bf16_ratio = bf16,
                method = "measured wall time x (7B bytes / measured bytes)",
                points = points.Select(p => new { engines = p.Engines, silo_processes = p.Silos, fanout = p.Fanout, fp32_s = p.Wall * fp32, bf16_s = p.Wall * bf16 }),
            },
        });
        AnsiConsole.MarkupLine(Markup.Escape($"wrote {written} in {seconds / 60:F1} min"));
        return 0;
    }
}
