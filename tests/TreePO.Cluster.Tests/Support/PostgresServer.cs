using TreePO.Testing;
using System.Diagnostics;
using Npgsql;

namespace TreePO.Cluster.Tests.Support;

/// <summary>
/// A PostgreSQL server of the test's own (a fresh data directory on a free loopback port), started by
/// scripts/ensure-postgres.sh, which installs Debian's postgresql first when it is missing; stopped (fast shutdown)
/// and its directory removed on Dispose. When PostgreSQL cannot be had the start fails with the script's reason.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    readonly string dir;
    readonly int pid;

    PostgresServer(int port, string dir, int pid)
    {
        Port = port;
        this.dir = dir;
        this.pid = pid;
    }

    public int Port { get; }

    /// <summary>The connection string of a database on this server (the script creates "treepo").</summary>
    public string Connection(string database = "treepo") =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Pooling=true;Timeout=10";

    public static async Task<PostgresServer> StartAsync()
    {
        int port = FreePorts.Take(1)[0];
        string dir = TreePO.Testing.ScratchFolders.Create("treepo-postgres-").FullName;
        using var script = ChildProcess.Start("ensure-postgres.sh", "bash", [Repo.Script("ensure-postgres.sh"), port.ToString(), dir]);
        int rc;
        try { rc = await script.WaitForExitAsync(TimeSpan.FromMinutes(6)); }
        catch (TimeoutException e) { throw new InvalidOperationException($"PostgreSQL is needed by this test and could not be started: {e.Message}"); }
        if (rc != 0)
            throw new InvalidOperationException(
                $"PostgreSQL is needed by this test and could not be started (scripts/ensure-postgres.sh exited {rc}; " +
                $"it installs Debian's postgresql, which needs root and a package source):\n{script.Tail()}");
        int pid = int.Parse(File.ReadLines(Path.Combine(dir, "data", "postmaster.pid")).First().Trim());
        return new PostgresServer(port, dir, pid);
    }

    /// <summary>A new, empty database on this server; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string name)
    {
        await using var connection = new NpgsqlConnection(Connection("postgres"));
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await create.ExecuteNonQueryAsync();
        return Connection(name);
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();   // pooled connections would hold the server in its shutdown
        try
        {
            using var server = Process.GetProcessById(pid);
            using (var stop = Process.Start("kill", ["-INT", pid.ToString()]))   // SIGINT: PostgreSQL's fast shutdown
                await stop.WaitForExitAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try { await server.WaitForExitAsync(cts.Token); }
            catch (OperationCanceledException) { server.Kill(entireProcessTree: true); }
        }
        catch (ArgumentException) { /* already gone */ }
        catch (InvalidOperationException) { }
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
