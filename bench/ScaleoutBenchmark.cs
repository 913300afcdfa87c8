using TreePO.Testing;
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
/// `bench scaleout`: the same rollout workload (the built-in task's held-out queries) through `rollout --cluster`'s
/// code (a client joined to the cluster, <see cref="RolloutRunner"/>) against one silo process with one compute thread
/// and against two silo processes with one thread each (localhost clustering, each silo its own engine). Reports
/// trajectories/s of each and their ratio (goal >= 1.8). The silo processes are started and killed here, with bounded
/// waits. Options: --queries N (128), --reps N (3), --silo PATH (default: the silo program built with
/// the benchmarks, see <see cref="SiloProgram"/>), --out scaleout.json, and --section.key=value overrides for the workload.
/// </summary>
public sealed class ScaleoutBenchmark : AsyncCommand<ScaleoutBenchmark.Settings>
{
    sealed record Rep(int Silos, int Index, double Seconds, int Trajectories, long DecodedTokens);

    public sealed class Settings : BenchSettings, ITakesOptionOverrides
    {
        [CommandOption("--queries <N>"), Description("Built-in held-out queries (default 128).")] public int Queries { get; init; } = 128;
        [CommandOption("--reps <N>"), Description("Timed repetitions per silo count (default 3).")] public int Reps { get; init; } = 3;
        [CommandOption("--silo <PATH>"), Description("The silo program (default: the one built with the benchmarks).")] public string Silo { get; init; } = "";
        [CommandOption("--out <FILE>")] public string Out { get; init; } = "scaleout.json";

        protected override void Check(List<string> problems)
        {
            AtLeast(problems, "--queries", Queries, 1);
            AtLeast(problems, "--reps", Reps, 1);
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var (overrides, _) = TreePOConfiguration.SplitOverrides(OptionOverrides.Captured);
        int queries = settings.Queries, reps = settings.Reps;
        string siloOption = settings.Silo;
        string outPath = settings.Out;
        string? siloDll = SiloProgram.Locate(siloOption);
        if (siloDll is null) return 2;
        TreePOOptions options;
        try { options = TreePOConfiguration.Bind(new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddTreePOSources(overrides).Build()); }
        catch (TreePOOptionsException e) { AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]"); return 2; }
        var text = ModelText.Load(ModelFolder.Resolve(options.Model.Path.Length > 0 ? options.Model.Path : null), options);
        options.Model.Path = text.Folder;
        var config = options.TreeConfig();
        var input = RolloutInput.BuiltIn(options.Seed, queries);
        var machine = Machine.Describe(1);
        AnsiConsole.MarkupLine(Markup.Escape($"scale-out benchmark: {queries} queries, model {text.Folder}, w={config.Width} d={config.Depth} l={config.SegmentLength} b={config.Branch}; " +
            $"1 silo process x 1 thread vs 2 silo processes x 1 thread, {reps} timed repetitions each after a warm-up"));
        AnsiConsole.MarkupLine(Markup.Escape(machine.ToString()));

        var runs = new List<Rep>();
        var enginesServed = new Dictionary<int, List<string>>();
        foreach (int silos in new[] { 1, 2 })
        {
            var processes = new List<ChildProcess>();
            try
            {
                string clusterId = "bench-" + Guid.NewGuid().ToString("N")[..8];
                int[] ports = FreePorts(2 * silos);
                for (int i = 0; i < silos; i++)
                {
                    var p = ChildProcess.Dotnet($"silo{i + 1}", siloDll,
                        [$"--cluster.clustering=localhost", $"--cluster.clusterId={clusterId}", $"--cluster.siloPort={ports[2 * i]}",
                         $"--cluster.gatewayPort={ports[2 * i + 1]}", $"--cluster.primarySiloPort={ports[0]}",
                         $"--engine.threads=1", $"--engine.devices=1", $"--model.path={text.Folder}",
                         .. overrides.Where(o => o.Key.StartsWith("TreePO:Tree:", StringComparison.OrdinalIgnoreCase) || o.Key.StartsWith("TreePO:Sampling:", StringComparison.OrdinalIgnoreCase))
                             .Select(o => $"--{o.Key["TreePO:".Length..].Replace(':', '.')}={o.Value}")]);
                    processes.Add(p);
                    await p.WaitForOutputAsync("Application started", TimeSpan.FromSeconds(90));
                }
                var clientOptions = TreePOConfiguration.Bind(new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddTreePOSources(overrides).Build());
                clientOptions.Model.Path = text.Folder;
                clientOptions.Cluster.ClusterId = clusterId;
                clientOptions.Cluster.GatewayPort = ports[1];
                await using var connection = await ClusterConnection.JoinAsync(clientOptions);
                // Both silos must be in the membership before the work starts.
                var mgmt = connection.Client.GetGrain<IManagementGrain>(0);
                var wait = Stopwatch.StartNew();
                while ((await mgmt.GetHosts(onlyActive: true)).Count < silos)
                {
                    if (wait.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException($"{silos} silos did not join within 60 s");
                    await Task.Delay(200);
                }
                for (int r = -1; r < reps; r++)
                {
                    var runner = new RolloutRunner(connection.Client, text, clientOptions) { BatchId = $"scaleout{silos}-{r + 1}", Concurrency = 64, ClusterDescription = $"{silos} silo process(es)" };
                    string dir = Directory.CreateTempSubdirectory("treepo-scaleout-").FullName;
                    using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(10));
                    var result = await runner.RunAsync(input, dir, null, deadline.Token);
                    Directory.Delete(dir, true);
                    if (result.Summary.Trees != queries) throw new InvalidOperationException($"{silos} silo(s): {result.Summary.Trees} of {queries} trees completed: {string.Join("; ", result.Summary.SkippedReasons)}");
                    string label = r < 0 ? "warm-up" : $"rep {r + 1}";
                    AnsiConsole.MarkupLine(Markup.Escape($"  {silos} silo(s) {label}: {result.Summary.WallSeconds:F2} s, {result.Summary.Trajectories} trajectories, {result.Summary.TrajectoriesPerSecond:F1}/s"));
                    if (r >= 0) runs.Add(new Rep(silos, r, result.Summary.WallSeconds, result.Summary.Trajectories, result.Summary.DecodedTokens));
                    if (r == reps - 1) enginesServed[silos] = [.. result.Summary.Engines.Select(e => $"{e.Engine}: {e.Requests} requests, {e.Steps} steps, mean batch {e.MeanBatchSize:F1}")];
                }
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException or ClusterUnavailableException)
            {
                AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]");
                foreach (var p in processes) AnsiConsole.WriteLine($"--- {p.Name}\n{p.Tail(15)}");
                return 3;
            }
            finally { foreach (var p in processes) p.Dispose(); }
        }

        double Median(int n) { var xs = runs.Where(x => x.Silos == n).Select(x => x.Trajectories / x.Seconds).Order().ToList(); return xs.Count % 2 == 1 ? xs[xs.Count / 2] : (xs[xs.Count / 2 - 1] + xs[xs.Count / 2]) / 2; }
        double one = Median(1), two = Median(2), ratio = two / one;
        var table = new Table().AddColumns("silo processes x threads", "median trajectories/s", "median s");
        foreach (int n in new[] { 1, 2 })
            table.AddRow($"{n} x 1", Median(n).ToString("F1"), runs.Where(x => x.Silos == n).Select(x => x.Seconds).Order().ElementAt(runs.Count(x => x.Silos == n) / 2).ToString("F2"));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine(Markup.Escape($"scale-out ratio (2 silos / 1 silo): {ratio:F2}x (goal >= 1.8x; this machine has {Environment.ProcessorCount} logical cores shared by the client and both silos)"));
        string path = BenchJson.Write(outPath, new
        {
            benchmark = "scaleout",
            machine = BenchJson.MachineJson(machine),
            model = text.Folder,
            queries, reps,
            width = config.Width, depth = config.Depth, segment_length = config.SegmentLength, branch = config.Branch,
            one_silo_trajectories_per_s = one,
            two_silos_trajectories_per_s = two,
            ratio,
            goal = 1.8,
            engines = enginesServed.ToDictionary(kv => kv.Key.ToString(), kv => kv.Value),
            runs = runs.Select(x => new { silos = x.Silos, rep = x.Index, seconds = x.Seconds, trajectories = x.Trajectories, decoded_tokens = x.DecodedTokens }),
        });
        AnsiConsole.MarkupLine(Markup.Escape($"wrote {path}"));
        return 0;
    }

    internal static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0)).ToList();
        listeners.ForEach(l => l.Start());
        int[] ports = [.. listeners.Select(l => ((System.Net.IPEndPoint)l.LocalEndpoint).Port)];
        listeners.ForEach(l => l.Stop());
        return ports;
    }
}
