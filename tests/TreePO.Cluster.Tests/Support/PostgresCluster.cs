using TreePO.Hosting.Processes;

namespace TreePO.Cluster.Tests.Support;

/// <summary>Silo processes (silo/, built) forming one cluster with postgres clustering on a test's own PostgreSQL,
/// each on its own free loopback ports, serving the built-in model; and `treepo` client processes joined to it.
/// Everything is killed on Dispose.</summary>
public sealed class PostgresCluster : IDisposable
{
    readonly List<ChildProcess> processes = [];

    public PostgresCluster(string connection, string workDir)
    {
        WorkDir = workDir;
        Connection = connection;
        Environment = new Dictionary<string, string>
        {
            ["TREEPO__CLUSTER__CLUSTERING"] = "postgres",
            ["TREEPO__CLUSTER__POSTGRES"] = connection,
            ["TREEPO__CLUSTER__CLUSTERID"] = ClusterId,
            // Notice a killed process in about 2 s instead of Orleans' 15-20 s.
            ["TREEPO__CLUSTER__PROBETIMEOUT"] = "00:00:01",
            ["TREEPO__CLUSTER__MISSEDPROBESLIMIT"] = "2",
            ["TREEPO__MODEL__PATH"] = Repo.BuiltinModel,
            ["TREEPO__ENGINE__THREADS"] = "1",
        };
    }

    public string WorkDir { get; }
    public string Connection { get; }
    public string ClusterId { get; } = "pg-" + Guid.NewGuid().ToString("N")[..8];
    public Dictionary<string, string> Environment { get; }

    public ChildProcess StartSilo(string name)
    {
        int[] ports = FreePorts.Take(2);
        var silo = ChildProcess.Dotnet(name, Repo.SiloDll, [$"--cluster.siloPort={ports[0]}", $"--cluster.gatewayPort={ports[1]}"],
            Environment, WorkDir);
        processes.Add(silo);
        return silo;
    }

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
    }
}
