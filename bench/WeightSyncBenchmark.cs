using TreePO.Hosting.Processes;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Spectre.Console;
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
/// process (itself a silo of the same localhost cluster), through the production path: EngineGrain.SyncWeightsAsync
/// reads TrainerGrain.StreamWeightsAsync (4 MB chunks of the safetensors bytes) and swaps them into its engine. The
/// model is random with Qwen2.5-0.5B's shapes (--layers N to use fewer of its layers; the tokenizer is the built-in
/// model's, which only names stop ids here). Reports the time of each forced pull (--pulls N, default 3) and the
/// median (goal under 2 s on loopback). Options: --layers N (24), --pulls N, --silo PATH, --keep DIR (reuse/keep the
/// written model there), --out weightsync.json.
/// </summary>
public static class WeightSyncBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var a = new BenchArgs(args);
        int layers = a.Int("layers", 24, 1), pulls = a.Int("pulls", 3, 1);
        string? siloDll = a.String("silo", "") is { Length: > 0 } s ? s : ScaleoutBenchmark.FindSilo();
        string keep = a.String("keep", ""), outPath = a.String("out", "weightsync.json");
        if (a.Errors.Count > 0) { foreach (var e in a.Errors) AnsiConsole.MarkupLine($"[red]{Markup.Escape(e)}[/]"); return 1; }
        if (siloDll is null || !File.Exists(siloDll))
        {
            AnsiConsole.MarkupLine("[red]the silo program is missing: `dotnet build silo -c Release` first, or give --silo PATH[/]");
            return 2;
        }
        // The built-in tokenizer names the stop ids (its eos ids); the rest of the shapes are 0.5B's.
        var config = Qwen2Config.Qwen25_0_5B with { NumHiddenLayers = layers, MaxPositionEmbeddings = 256, EosTokenIds = [397, 395], BosTokenId = null };
        string modelDir = keep.Length > 0 ? keep : Directory.CreateTempSubdirectory("treepo-weightsync-").FullName;
        var machine = Machine.Describe(1);
        AnsiConsole.MarkupLine(Markup.Escape(machine.ToString()));
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
        long fileBytes = Directory.GetFiles(modelDir, "*.safetensors").Sum(f => new FileInfo(f).Length);

        int[] ports = ScaleoutBenchmark.FreePorts(4);
        string clusterId = "weightsync-" + Guid.NewGuid().ToString("N")[..8];
        string[] common = [$"--cluster.clustering=localhost", $"--cluster.clusterId={clusterId}", $"--cluster.primarySiloPort={ports[0]}",
            $"--model.path={modelDir}", "--engine.threads=1", "--engine.devices=1", "--engine.kvbudgetmb=16", "--engine.maxslots=4",
            "--cluster.responseTimeout=00:05:00"];
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

            // The trainer must live in this process: activate candidates until one lands here.
            ITrainerGrain? trainer = null;
            string trainerKey = "";
            for (int i = 0; trainer is null; i++)
            {
                if (i == 50) throw new InvalidOperationException("no trainer activation landed on the benchmark's silo in 50 tries");
                trainerKey = $"weightsync-{i}";
                var candidate = grains.GetGrain<ITrainerGrain>(trainerKey);
                try { await candidate.GetVersionAsync(); } catch (InvalidOperationException) { /* not initialised: activated */ }
                var at = await mgmt.GetActivationAddress(candidate);
                if (self.Equals(at)) trainer = candidate;
            }
            clock.Restart();
            await trainer.InitializeAsync(new TrainerSetup(modelDir, 1, new TrainerSettings()));
            double trainerLoad = clock.Elapsed.TotalSeconds;
            var engine = grains.GetGrain<IEngineGrain>(SiloKey.For(other, 0));
            clock.Restart();
            await engine.GetLoadAsync();   // activates the remote engine: loads the model there
            double engineLoad = clock.Elapsed.TotalSeconds;
            AnsiConsole.MarkupLine(Markup.Escape($"trainer {trainerKey} loaded here in {trainerLoad:F1} s; engine {SiloKey.For(other, 0)} loaded in the other process in {engineLoad:F1} s"));

            var times = new List<double>();
            for (int p = 0; p < pulls; p++)
            {
                clock.Restart();
                int held = await engine.SyncWeightsAsync(trainerKey, 1, force: true);
                times.Add(clock.Elapsed.TotalSeconds);
                if (held != 1) throw new InvalidOperationException($"the engine reports version {held} after the pull, not 1");
                AnsiConsole.MarkupLine(Markup.Escape($"  pull {p + 1}: {times[^1]:F2} s"));
            }
            var sorted = times.Order().ToList();
            double median = sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
            var table = new Table().AddColumns("model", "weights", "pulls", "median s", "best s", "MB/s (median)");
            table.AddRow($"random Qwen2.5-0.5B shapes, {layers} layers, fp32", $"{fileBytes / 1e6:F0} MB", pulls.ToString(), median.ToString("F2"), sorted[0].ToString("F2"), (fileBytes / 1e6 / median).ToString("F0"));
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine(Markup.Escape($"median pull {median:F2} s (goal < 2 s on loopback): {(median < 2 ? "met" : "NOT met")}; the time covers streaming in 4 MB chunks across processes and the engine's swap"));
            string path = BenchJson.Write(outPath, new
            {
                benchmark = "weightsync",
                machine = BenchJson.MachineJson(machine),
                model = $"random, Qwen2.5-0.5B shapes with {layers} layers, fp32",
                weights_bytes = fileBytes,
                trainer_load_s = trainerLoad,
                engine_load_s = engineLoad,
                pull_seconds = times,
                median_s = median,
                best_s = sorted[0],
                goal_s = 2.0,
            });
            AnsiConsole.MarkupLine(Markup.Escape($"wrote {path}"));
            await trainer.CloseAsync();
            return 0;
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]" + (e.InnerException is { } inner ? Markup.Escape(": " + inner.GetBaseException().Message) : ""));
            AnsiConsole.WriteLine($"--- engine silo\n{engineSilo.Tail(20)}");
            return 3;
        }
        finally
        {
            engineSilo.Kill();
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try { await host.StopAsync(stop.Token); } catch (OperationCanceledException) { }
            if (keep.Length == 0) try { Directory.Delete(modelDir, true); } catch (IOException) { }
        }
    }
}
