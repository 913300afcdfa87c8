using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using TreePO.Hosting;
using TreePO.Hosting.Options;
using TreePO.Testing;

namespace TreePO.Bench.Common;

/// <summary>
/// A cluster of simulated engines for `bench scale`: silo processes on localhost clustering (each with its share of
/// the engines and a Prometheus endpoint of its own) joined by a client in this process, or one silo embedded in this
/// process with every engine. Everything started here is killed on dispose.
/// </summary>
public sealed class ScaleCluster : IAsyncDisposable
{
    readonly List<ChildProcess> processes = [];
    readonly ClusterConnection connection;

    ScaleCluster(ClusterConnection connection, int[] metricsPorts, List<ChildProcess> processes)
    {
        this.connection = connection;
        MetricsPorts = metricsPorts;
        this.processes = processes;
    }

    public IClusterClient Client => connection.Client;

    /// <summary>The localhost cluster's id and its first silo's port (a silo in this process can join them).</summary>
    public string ClusterId { get; private init; } = "";
    public int PrimarySiloPort { get; private init; }
    public int[] MetricsPorts { get; }
    public IReadOnlyList<ChildProcess> Processes => processes;

    /// <summary>Options-tree keys ("Engine:Simulated" -> "true") as a silo program's --key=value arguments.</summary>
    public static IEnumerable<string> Arguments(IReadOnlyDictionary<string, string> keys) =>
        keys.Select(kv => $"--{kv.Key.Replace(':', '.')}={kv.Value}");

    public static TreePOOptions Options(IReadOnlyDictionary<string, string> keys) => TreePOConfiguration.Bind(
        new ConfigurationBuilder().AddInMemoryCollection(
            keys.Select(kv => new KeyValuePair<string, string?>($"{TreePOOptions.Section}:{kv.Key}", kv.Value))).Build());

    /// <summary><paramref name="silos"/> silo processes of <paramref name="enginesPerSilo"/> engines each, all in the
    /// membership before this returns.</summary>
    public static async Task<ScaleCluster> StartProcessesAsync(string siloDll, int silos, int enginesPerSilo, IReadOnlyDictionary<string, string> keys)
    {
        string clusterId = "scale-" + Guid.NewGuid().ToString("N")[..8];
        int[] ports = ScaleoutBenchmark.FreePorts(3 * silos);
        var started = new List<ChildProcess>();
        try
        {
            for (int i = 0; i < silos; i++)
                started.Add(ChildProcess.Dotnet($"silo{i + 1}", siloDll,
                    [.. Arguments(keys), "--cluster.clustering=localhost", $"--cluster.clusterId={clusterId}", $"--cluster.siloPort={ports[3 * i]}",
                     $"--cluster.gatewayPort={ports[3 * i + 1]}", $"--cluster.primarySiloPort={ports[0]}", $"--engine.devices={enginesPerSilo}",
                     "--telemetry.prometheus=true", $"--telemetry.port={ports[3 * i + 2]}"]));
            foreach (var p in started) await p.WaitForOutputAsync("Application started", TimeSpan.FromSeconds(180));
            var options = Options(keys);
            options.Cluster.ClusterId = clusterId;
            options.Cluster.GatewayPort = ports[1];
            var connection = await ClusterConnection.JoinAsync(options);
            var mgmt = connection.Client.GetGrain<IManagementGrain>(0);
            var wait = Stopwatch.StartNew();
            while ((await mgmt.GetHosts(onlyActive: true)).Count < silos)
            {
                if (wait.Elapsed > TimeSpan.FromSeconds(90)) throw new TimeoutException($"{silos} silos did not join within 90 s");
                await Task.Delay(200);
            }
            return new ScaleCluster(connection, [.. Enumerable.Range(0, silos).Select(i => ports[3 * i + 2])], started)
            {
                ClusterId = clusterId,
                PrimarySiloPort = ports[0],
            };
        }
        catch
        {
            foreach (var p in started) p.Dispose();
            throw;
        }
    }

    /// <summary>One silo in this process with <paramref name="engines"/> engines.</summary>
    public static async Task<ScaleCluster> StartInProcessAsync(int engines, IReadOnlyDictionary<string, string> keys)
    {
        var options = Options(keys);
        int[] ports = ScaleoutBenchmark.FreePorts(1);
        options.Engine.Devices = engines.ToString(System.Globalization.CultureInfo.InvariantCulture);
        options.Telemetry.Prometheus = true;
        options.Telemetry.Port = ports[0];
        return new ScaleCluster(await ClusterConnection.EmbeddedAsync(options), ports, []);
    }

    public Task<MetricsScrape> ScrapeAsync() => MetricsScrape.ReadAsync(MetricsPorts);

    public async ValueTask DisposeAsync()
    {
        try { await connection.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30)); }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException) { }
        foreach (var p in processes) p.Dispose();
    }
}
