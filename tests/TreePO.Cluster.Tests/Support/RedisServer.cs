using TreePO.Testing;
using System.Diagnostics;

namespace TreePO.Cluster.Tests.Support;

/// <summary>
/// A redis-server of the test's own on a free loopback port, started by scripts/ensure-redis.sh (which installs
/// Debian's redis-server first when it is missing) and stopped by its pid on Dispose. When Redis cannot be had
/// (no package source, no root) the start fails with the script's reason, within a bounded time.
/// </summary>
public sealed class RedisServer : IDisposable
{
    readonly string dir;
    readonly int pid;

    RedisServer(int port, string dir, int pid)
    {
        Port = port;
        this.dir = dir;
        this.pid = pid;
    }

    public int Port { get; }
    public string Connection => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync()
    {
        int port = FreePorts.Take(1)[0];
        string dir = TreePO.Testing.ScratchFolders.Create("treepo-redis-").FullName;
        using var script = ChildProcess.Start("ensure-redis.sh", "bash", [Repo.Script("ensure-redis.sh"), port.ToString(), dir]);
        int rc;
        try { rc = await script.WaitForExitAsync(TimeSpan.FromMinutes(4)); }
        catch (TimeoutException e) { throw new InvalidOperationException($"Redis is needed by this test and could not be started: {e.Message}"); }
        if (rc != 0)
            throw new InvalidOperationException(
                $"Redis is needed by this test and could not be started (scripts/ensure-redis.sh exited {rc}; " +
                $"it installs Debian's redis-server, which needs root and a package source):\n{script.Tail()}");
        int pid = int.Parse(File.ReadAllText(Path.Combine(dir, "redis.pid")).Trim());
        return new RedisServer(port, dir, pid);
    }

    public void Dispose()
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            p.Kill();
            p.WaitForExit(5000);
        }
        catch (ArgumentException) { /* already gone */ }
        catch (InvalidOperationException) { }
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
