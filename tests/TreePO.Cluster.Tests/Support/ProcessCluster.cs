using TreePO.Testing;

namespace TreePO.Cluster.Tests.Support;

/// <summary>Silo processes (silo/, built) forming one cluster over a shared membership store, each on its own free
/// loopback ports, serving the built-in model; and `treepo` client processes joined to it. Subclasses name the store
/// in <see cref="Environment"/>. Everything is killed on Dispose.</summary>
public abstract class ProcessCluster : IDisposable
{
    readonly List<ChildProcess> processes = [];
    readonly Dictionary<ChildProcess, int[]> siloPorts = [];

    protected ProcessCluster(string workDir, IDictionary<string, string> clustering)
    {
        WorkDir = workDir;
        Environment = new Dictionary<string, string>(clustering)
        {
            // Notice a killed process in about 2 s instead of Orleans' 15-20 s.
            ["TREEPO__CLUSTER__PROBETIMEOUT"] = "00:00:01",
            ["TREEPO__CLUSTER__MISSEDPROBESLIMIT"] = "2",
            ["TREEPO__MODEL__PATH"] = Repo.BuiltinModel,
            ["TREEPO__ENGINE__THREADS"] = "1",
        };
    }

    public string WorkDir { get; }
    public Dictionary<string, string> Environment { get; }

    /// <summary>Starts a silo without waiting for it (start several at once, then wait for "Application started").</summary>
    public ChildProcess StartSilo(string name, params string[] overrides)
    {
        int[] ports = FreePorts.Take(2);
        var silo = ChildProcess.Dotnet(name, Repo.SiloDll,
            [$"--cluster.siloPort={ports[0]}", $"--cluster.gatewayPort={ports[1]}", .. overrides], Environment, WorkDir);
        processes.Add(silo);
        siloPorts[silo] = ports;
        return silo;
    }

    public async Task<ChildProcess> StartSiloAsync(string name, params string[] overrides)
    {
        var silo = StartSilo(name, overrides);
        await silo.WaitForOutputAsync("Application started", TimeSpan.FromSeconds(90));
        return silo;
    }

    /// <summary>The silo-to-silo port of a silo started here: its address in membership, logs and run status.</summary>
    public int SiloPort(ChildProcess silo) => siloPorts[silo][0];

    /// <summary>The client gateway port of a silo started here.</summary>
    public int GatewayPort(ChildProcess silo) => siloPorts[silo][1];

    public ChildProcess StartClient(string name, params string[] args)
    {
        var client = ChildProcess.Dotnet(name, Repo.ClientDll, args, Environment, WorkDir);
        processes.Add(client);
        return client;
    }

    public string Logs() => string.Join("\n", processes.Select(p => $"--- {p.Name}\n{p.Tail(15)}"));

    public void Dispose()
    {
        foreach (var p in processes) p.Dispose();
        GC.SuppressFinalize(this);
    }
}
