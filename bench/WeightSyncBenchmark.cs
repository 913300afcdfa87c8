using TreePO.Testing;
using System.ComponentModel;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using Spectre.Console.Cli;
using TreePO.Bench.Common;
using TreePO.Engine.Checkpoint;
using TreePO.Engine.Model;
using TreePO.Grains.Engines;
using TreePO.Grains.Placement;
using TreePO.Grains.Training;
using TreePO.Hosting;
using TreePO.Hosting.Models;
using TreePO.Hosting.Options;

namespace TreePO.Bench;

/// <summary>
/// `bench weightsync`: an engine in another silo process pulls a model's weights from a trainer grain in this
/// process (itself a silo of the same localhost cluster), through the production path,
/// EngineGrain.SyncWeightsWithReportAsync, by each path side by side: "socket" (one TCP stream from the trainer's silo
/// into staging tensors, swapped in place), "chunks" (the trainer's prepared chunks through Orleans, --window at a time,
/// into the same staging). The first path listed gives the verdict. The model is random with Qwen2.5-0.5B's shapes (--layers N to use fewer
/// of its layers; the tokenizer is the built-in model's, which only names stop ids here). Reports each forced pull
/// (--pulls N per path, default 3, path after path), its phases (handshake, transfer, bytes-to-tensors, swap),
/// the medians (goal under 2 s on loopback) and the peak RSS of both processes during the pulls. --tls measures the
/// paths again in a second cluster that runs Cluster:Tls (a self-signed cluster certificate made in process, as
/// scripts/make-dev-cert.sh makes one): "socket+tls" is the stream under TLS, "chunks+tls" Orleans' chunks over TLS
/// connections, in the same table. Options: --layers N (24), --pulls N, --paths socket,chunks, --window N (4),
/// --chunkmb N (16), --tls, --silo PATH, --keep DIR (reuse/keep the written model there), --out weightsync.json.
/// </summary>
public sealed class WeightSyncBenchmark : AsyncCommand<WeightSyncBenchmark.Settings>
{
    public sealed class Settings : BenchSettings
    {
        [CommandOption("--layers <N>"), Description("Layers of Qwen2.5-0.5B's 24 in the random model (default 24).")] public int Layers { get; init; } = 24;
        [CommandOption("--pulls <N>"), Description("Forced pulls per path (default 3).")] public int Pulls { get; init; } = 3;
        [CommandOption("--window <N>"), Description("Chunks in flight on the chunks path (default 4).")] public int Window { get; init; } = 4;
        [CommandOption("--chunkmb <N>"), Description("Chunk size in MB, at most 64 (default 16).")] public int ChunkMb { get; init; } = 16;
        [CommandOption("--paths <LIST>"), Description("Paths to measure, the first gives the verdict (default socket,chunks).")]
        public string Paths { get; init; } = $"{WeightSyncOptions.Socket},{WeightSyncOptions.Chunks}";
        [CommandOption("--tls"), Description("Measure the paths again in a cluster under Cluster:Tls.")] public bool Tls { get; init; }
        [CommandOption("--silo <PATH>"), Description("The silo program (default: the one built with the benchmarks).")] public string Silo { get; init; } = "";
        [CommandOption("--keep <DIR>"), Description("Reuse or keep the written model in DIR.")] public string Keep { get; init; } = "";
        [CommandOption("--out <FILE>")] public string Out { get; init; } = "weightsync.json";

        public string[] PathList => Paths.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        protected override void Check(List<string> problems)
        {
            AtLeast(problems, "--layers", Layers, 1);
            AtLeast(problems, "--pulls", Pulls, 1);
            AtLeast(problems, "--window", Window, 1);
            AtLeast(problems, "--chunkmb", ChunkMb, 1);
            foreach (string p in PathList)
                if (p is not (WeightSyncOptions.Socket or WeightSyncOptions.Chunks)) problems.Add($"--paths: unknown path '{p}' (socket, chunks)");
            if (ChunkMb > 64) problems.Add($"--chunkmb: at most 64 (Orleans' message limit is 100 MiB), got {ChunkMb}");
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        int layers = settings.Layers, pulls = settings.Pulls, window = settings.Window, chunkMb = settings.ChunkMb;
        string[] paths = settings.PathList;
        string siloOption = settings.Silo, keep = settings.Keep, outPath = settings.Out;
        bool tls = settings.Tls;
        string? siloDll = SiloProgram.Locate(siloOption);
        if (siloDll is null) return 2;
        string modelDir = keep.Length > 0 ? keep : Directory.CreateTempSubdirectory("treepo-weightsync-").FullName;
        var machine = Machine.Describe(1);
        AnsiConsole.MarkupLine(Markup.Escape(machine.ToString()));
        long fileBytes = WriteModel(modelDir, layers);

        var reports = new Dictionary<string, List<WeightSyncReport>>();
        var peaks = new Dictionary<string, (long Trainer, long Engine)>();
        string certDir = "";
        try
        {
            var plain = await MeasureAsync(siloDll, modelDir, paths, pulls, window, chunkMb, "", reports, peaks);
            if (plain is null) return 3;
            if (tls)
            {
                certDir = Directory.CreateTempSubdirectory("treepo-weightsync-cert-").FullName;
                string pfx = Path.Combine(certDir, "cluster.pfx");
                using (var cert = TreePO.Hosting.Clustering.ClusterTls.CreateSelfSigned("treepo-weightsync", TimeSpan.FromDays(1)))
                    File.WriteAllBytes(pfx, cert.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12));
                AnsiConsole.MarkupLine(Markup.Escape("the same pulls in a cluster under Cluster:Tls (a self-signed cluster certificate):"));
                if (await MeasureAsync(siloDll, modelDir, paths, pulls, window, chunkMb, pfx, reports, peaks) is null) return 3;
            }
            static double Median(IEnumerable<double> xs)
            {
                var sorted = xs.Order().ToList();
                return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
            }
            // Short headings (the table fits 80 columns): handshake, transfer (bytes->tensors included), swap; peak RSS in GB.
            var table = new Table().AddColumns("path", "n", "median s", "best s", "MB/s", "hs s", "xfer s", "b->t s", "swap s", "RSS tr", "RSS en");
            var summary = new Dictionary<string, object>();
            foreach (var (path, rs) in reports)
            {
                double median = Median(rs.Select(r => r.TotalSeconds));
                table.AddRow(path, rs.Count.ToString(), median.ToString("F2"), rs.Min(r => r.TotalSeconds).ToString("F2"), (fileBytes / 1e6 / median).ToString("F0"),
                    Median(rs.Select(r => r.ManifestSeconds)).ToString("F2"), Median(rs.Select(r => r.TransferSeconds)).ToString("F2"),
                    Median(rs.Select(r => r.StageSeconds)).ToString("F2"), Median(rs.Select(r => r.SwapSeconds)).ToString("F2"),
                    $"{peaks[path].Trainer / 1e9:F1}", $"{peaks[path].Engine / 1e9:F1}");
                summary[path] = new
                {
                    pull_seconds = rs.Select(r => r.TotalSeconds).ToList(),
                    median_s = median,
                    best_s = rs.Min(r => r.TotalSeconds),
                    median_handshake_s = Median(rs.Select(r => r.ManifestSeconds)),
                    median_transfer_s = Median(rs.Select(r => r.TransferSeconds)),
                    median_bytes_to_tensors_s = Median(rs.Select(r => r.StageSeconds)),
                    median_swap_s = Median(rs.Select(r => r.SwapSeconds)),
                    chunks = rs[0].Chunks,
                    peak_rss_trainer_bytes = peaks[path].Trainer,
                    peak_rss_engine_bytes = peaks[path].Engine,
                };
            }
            AnsiConsole.MarkupLine(Markup.Escape($"random Qwen2.5-0.5B shapes, {layers} layers, fp32: {fileBytes / 1e6:F0} MB; trainer tensors->chunks once per version " +
                $"{reports.Values.SelectMany(x => x).Select(r => r.TrainerCaptureSeconds).DefaultIfEmpty(0).Max():F2} s; RSS after loading: trainer {plain.TrainerRss / 1e9:F1} GB, engine {plain.EngineRss / 1e9:F1} GB"));
            AnsiConsole.Write(table);
            string verdictPath = paths[0];
            double best = Median(reports[verdictPath].Select(r => r.TotalSeconds));
            AnsiConsole.MarkupLine(Markup.Escape($"median {verdictPath} pull {best:F2} s (goal < 2 s on loopback): {(best < 2 ? "met" : "NOT met")}; " +
                string.Join(", ", reports.Keys.Skip(1).Select(p => $"{p}/{verdictPath} = {Median(reports[p].Select(r => r.TotalSeconds)) / best:F1}x"))));
            string written = BenchJson.Write(outPath, new
            {
                benchmark = "weightsync",
                machine = BenchJson.MachineJson(machine),
                load_average = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "",
                model = $"random, Qwen2.5-0.5B shapes with {layers} layers, fp32",
                weights_bytes = fileBytes,
                window,
                chunk_bytes = chunkMb << 20,
                tls,
                trainer_load_s = plain.TrainerLoad,
                engine_load_s = plain.EngineLoad,
                trainer_capture_s = reports.Values.SelectMany(x => x).Select(r => r.TrainerCaptureSeconds).DefaultIfEmpty(0).Max(),
                rss_after_load_trainer_bytes = plain.TrainerRss,
                rss_after_load_engine_bytes = plain.EngineRss,
                paths = summary,
                median_s = best,
                goal_s = 2.0,
            });
            AnsiConsole.MarkupLine(Markup.Escape($"wrote {written}"));
            return 0;
        }
        finally
        {
            if (keep.Length == 0) try { Directory.Delete(modelDir, true); } catch (IOException) { }
            if (certDir.Length > 0) try { Directory.Delete(certDir, true); } catch (IOException) { }
        }
    }

    /// <summary>A random model with Qwen2.5-0.5B's shapes (<paramref name="layers"/> of its 24 layers, fp32) in
    /// <paramref name="modelDir"/>, unless one is there already (--keep); the built-in tokenizer names the stop ids.
    /// Returns its safetensors bytes.</summary>
    public static long WriteModel(string modelDir, int layers)
    {
        var config = Qwen2Config.Qwen25_0_5B with { NumHiddenLayers = layers, MaxPositionEmbeddings = 256, EosTokenIds = [397, 395], BosTokenId = null };
        var clock = Stopwatch.StartNew();
        if (!File.Exists(Path.Combine(modelDir, "config.json")))
        {
            TreePO.Engine.Native.TorchRuntime.EnsureLoaded();
            Qwen2Checkpoint.WriteRandom(modelDir, config, seed: 8);
            string builtin = ModelFolder.Resolve(null);
            foreach (string f in new[] { "tokenizer.json", "tokenizer_config.json", "generation_config.json" })
                if (File.Exists(Path.Combine(builtin, f))) File.Copy(Path.Combine(builtin, f), Path.Combine(modelDir, f), true);
            AnsiConsole.MarkupLine(Markup.Escape($"wrote a random model ({layers} of 0.5B's 24 layers) to {modelDir} in {clock.Elapsed.TotalSeconds:F1} s"));
        }
        return Directory.GetFiles(modelDir, "*.safetensors").Sum(f => new FileInfo(f).Length);
    }

    /// <summary>A trainer grain activated in this process's silo <paramref name="self"/>: candidates keyed
    /// <paramref name="prefix"/>-N are activated until one lands here. Returns it and its key.</summary>
    public static async Task<(ITrainerGrain Trainer, string Key)> LocalTrainerAsync(IGrainFactory grains, Orleans.Runtime.SiloAddress self, string prefix)
    {
        var mgmt = grains.GetGrain<IManagementGrain>(0);
        for (int i = 0; i < 50; i++)
        {
            string key = $"{prefix}-{i}";
            var candidate = grains.GetGrain<ITrainerGrain>(key);
            try { await candidate.GetVersionAsync(); } catch (InvalidOperationException) { /* not initialised: activated */ }
            if (self.Equals(await mgmt.GetActivationAddress(candidate))) return (candidate, key);
        }
        throw new InvalidOperationException("no trainer activation landed on the benchmark's silo in 50 tries");
    }

    /// <summary>What one cluster's run adds besides its pulls.</summary>
    sealed record Measured(double TrainerLoad, double EngineLoad, long TrainerRss, long EngineRss);

    /// <summary>One localhost cluster (this process and an engine silo), under TLS when <paramref name="pfx"/> is
    /// given: each path's pulls into <paramref name="reports"/> under the path's name (+tls under TLS). Null when the
    /// cluster failed (said why).</summary>
    static async Task<Measured?> MeasureAsync(string siloDll, string modelDir, string[] paths, int pulls, int window, int chunkMb, string pfx,
        Dictionary<string, List<WeightSyncReport>> reports, Dictionary<string, (long Trainer, long Engine)> peaks)
    {
        var clock = Stopwatch.StartNew();
        string suffix = pfx.Length > 0 ? "+tls" : "";
        int[] ports = ScaleoutBenchmark.FreePorts(4);
        string clusterId = "weightsync-" + Guid.NewGuid().ToString("N")[..8];
        string[] common = [$"--cluster.clustering=localhost", $"--cluster.clusterId={clusterId}", $"--cluster.primarySiloPort={ports[0]}",
            $"--model.path={modelDir}", "--engine.threads=1", "--engine.devices=1", "--engine.kvbudgetmb=16", "--engine.maxslots=4",
            "--cluster.responseTimeout=00:05:00"];
        if (pfx.Length > 0) common = [.. common, "--cluster.tls.enabled=true", $"--cluster.tls.certificatePath={pfx}"];
        var options = TreePOConfiguration.Load([.. common, $"--cluster.siloPort={ports[0]}", $"--cluster.gatewayPort={ports[1]}"]);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.SetMinimumLevel(LogLevel.Error);
        builder.UseOrleans(silo => { silo.UseTreePOClustering(options); silo.AddTreePO(options); });
        using var host = builder.Build();
        await host.StartAsync();
        using var engineSilo = ChildProcess.Dotnet("engine silo", siloDll, [.. common, $"--cluster.siloPort={ports[2]}", $"--cluster.gatewayPort={ports[3]}"]);
        try
        {
            await engineSilo.WaitForOutputAsync("Application started", TimeSpan.FromSeconds(120));
            var grains = host.Services.GetRequiredService<IGrainFactory>();
            var self = host.Services.GetRequiredService<Orleans.Runtime.ILocalSiloDetails>().SiloAddress;
            var mgmt = grains.GetGrain<IManagementGrain>(0);
            var wait = Stopwatch.StartNew();
            Orleans.Runtime.SiloAddress? other = null;
            while (other is null)
            {
                other = (await mgmt.GetHosts(onlyActive: true)).Keys.FirstOrDefault(k => !k.Equals(self));
                if (other is null && wait.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException("the engine silo did not join within 60 s");
                if (other is null) await Task.Delay(200);
            }

            // The trainer must live in this process.
            var (trainer, trainerKey) = await LocalTrainerAsync(grains, self, "weightsync");
            clock.Restart();
            await trainer.InitializeAsync(new TrainerSetup(modelDir, 1, new TrainerSettings(WeightChunkBytes: chunkMb << 20)));
            double trainerLoad = clock.Elapsed.TotalSeconds;
            long trainerRssLoaded = ProcessMemory.RssBytes();
            var engine = grains.GetGrain<IEngineGrain>(SiloKey.For(other, 0));
            clock.Restart();
            await engine.GetLoadAsync();   // activates the remote engine: loads the model there
            double engineLoad = clock.Elapsed.TotalSeconds;
            AnsiConsole.MarkupLine(Markup.Escape($"{(suffix.Length > 0 ? "TLS cluster: " : "")}trainer {trainerKey} loaded here in {trainerLoad:F1} s; engine {SiloKey.For(other, 0)} loaded in the other process in {engineLoad:F1} s"));

            long engineRssLoaded = ProcessMemory.Rss(engineSilo.Id);
            // Path by path (not alternating): a path's leftovers would inflate the next one's peak RSS.
            foreach (string p in paths)
            {
                string label = p + suffix;
                reports[label] = [];
                peaks[label] = (0, 0);
                for (int i = 0; i < pulls; i++)
                {
                    ProcessMemory.Settle();
                    ProcessMemory.ResetPeak(engineSilo.Id);
                    var r = await engine.SyncWeightsWithReportAsync(trainerKey, 1, new WeightSyncOptions(Force: true, Path: p, Window: window));
                    if (r.Version != 1) throw new InvalidOperationException($"the engine reports version {r.Version} after the pull, not 1");
                    if (r.Path != p) throw new InvalidOperationException($"asked for the {p} path, the engine took {r.Path}");
                    reports[label].Add(r);
                    var (pt, pe) = peaks[label];
                    peaks[label] = (Math.Max(pt, ProcessMemory.PeakRssBytes()), Math.Max(pe, ProcessMemory.PeakRssBytes(engineSilo.Id)));
                    AnsiConsole.MarkupLine(Markup.Escape($"  {label,-10} pull {i + 1}: {r.TotalSeconds:F2} s (handshake {r.ManifestSeconds:F2}, transfer {r.TransferSeconds:F2}, " +
                        $"of which bytes->tensors {r.StageSeconds:F2}, swap {r.SwapSeconds:F2}); peak RSS trainer {peaks[label].Trainer / 1e9:F1} GB, engine {peaks[label].Engine / 1e9:F1} GB"));
                }
            }
            await trainer.CloseAsync();
            return new Measured(trainerLoad, engineLoad, trainerRssLoaded, engineRssLoaded);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]" + (e.InnerException is { } inner ? Markup.Escape(": " + inner.GetBaseException().Message) : ""));
            AnsiConsole.WriteLine($"--- engine silo\n{engineSilo.Tail(20)}");
            return null;
        }
        finally
        {
            engineSilo.Kill();
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try { await host.StopAsync(stop.Token); } catch (OperationCanceledException) { }
        }
    }
}
