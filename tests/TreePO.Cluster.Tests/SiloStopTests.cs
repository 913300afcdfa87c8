using TreePO.Testing;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using TreePO.Cluster.Tests.Support;
using TreePO.Hosting.Processes;

namespace TreePO.Cluster.Tests;

/// <summary>
/// Real processes: two silos on a membership store the test starts, the store stopped, then SIGTERM to one silo. The
/// silo cannot leave the membership table gracefully any more (Orleans retries the store for minutes); it must still
/// exit within its Cluster:ShutdownTimeout, with the "stop timed out" exit code and a line naming the step that
/// overran, and free its silo and gateway ports. Redis and PostgreSQL.
/// </summary>
public sealed class SiloStopTests
{
    static readonly TimeSpan Limit = TimeSpan.FromSeconds(5);

    // Time from SIGTERM to the process being gone beyond the limit itself: the exit (and its _exit backstop) and the
    // kernel reaping a process on a loaded 2-core machine.
    static readonly TimeSpan Slack = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task A_silo_whose_redis_is_gone_exits_within_its_limit_after_SIGTERM()
    {
        var redis = await RedisServer.StartAsync();
        string work = TreePO.Testing.ScratchFolders.Create("treepo-stop-redis-").FullName;
        try
        {
            using var cluster = new RedisCluster(redis, work);
            await StopsWithinLimitAsync(cluster, stopStore: () => { redis.Dispose(); return Task.CompletedTask; });
        }
        finally
        {
            redis.Dispose();
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task A_silo_whose_postgres_is_gone_exits_within_its_limit_after_SIGTERM()
    {
        var postgres = await PostgresServer.StartAsync();
        string work = TreePO.Testing.ScratchFolders.Create("treepo-stop-pg-").FullName;
        try
        {
            using var cluster = new PostgresCluster(postgres.Connection(), work);
            await StopsWithinLimitAsync(cluster, stopStore: async () => await postgres.DisposeAsync());
        }
        finally
        {
            await postgres.DisposeAsync();
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    static async Task StopsWithinLimitAsync(ProcessCluster cluster, Func<Task> stopStore)
    {
        // Two silos at once (each joins whoever is there); engines never load: no grain is called.
        string limit = $"--cluster.shutdownTimeout={Limit:hh\\:mm\\:ss}";
        var survivor = cluster.StartSilo("silo-a", limit);
        var victim = cluster.StartSilo("silo-b", limit);
        await survivor.WaitForOutputAsync("Application started", TimeSpan.FromSeconds(90));
        await victim.WaitForOutputAsync("Application started", TimeSpan.FromSeconds(90));

        await stopStore();
        var clock = Stopwatch.StartNew();
        victim.Terminate();
        int rc;
        try { rc = await victim.WaitForExitAsync(Limit + Slack); }
        catch (TimeoutException e) { throw new TimeoutException($"the silo ran past its {Limit.TotalSeconds} s limit:\n{e.Message}", e); }
        var took = clock.Elapsed;

        Assert.True(took <= Limit + Slack, $"exited {took.TotalSeconds:F1} s after SIGTERM:\n{victim.Tail()}");
        Assert.True(rc == ShutdownGuard.TimedOutExitCode, $"exit code {rc}, expected {ShutdownGuard.TimedOutExitCode}:\n{victim.Tail()}");
        // The first line names the signal, or (when the host's own console lifetime saw the signal first and the
        // guard's handler ran late on a loaded machine) the stop the host started: the clock starts either way.
        Assert.True(victim.Output.Contains("shutdown: SIGTERM: stopping", StringComparison.Ordinal)
                    || victim.Output.Contains("shutdown: stop requested inside the process: stopping", StringComparison.Ordinal), victim.Tail());
        Assert.Contains("shutdown: the graceful stop did not finish within 3.3 s; stopping ungracefully", victim.Output);
        // Either the ungraceful stop hung on the store too (the process was ended at the limit), or it finished
        // after its graceful share ran out; both are named.
        Assert.True(victim.Output.Contains("shutdown: the ungraceful stop did not finish within the 5 s limit", StringComparison.Ordinal)
                    || victim.Output.Contains("shutdown: stopped in", StringComparison.Ordinal), victim.Tail());
        foreach (int port in new[] { cluster.SiloPort(victim), cluster.GatewayPort(victim) })
            Assert.True(IsFree(port), $"port {port} is still taken after the silo exited");
        Assert.False(survivor.HasExited, $"the other silo stopped:\n{survivor.Tail()}");

        // A second SIGTERM does not wait for the limit: the other silo, stuck on the same store, exits at once.
        survivor.Terminate();
        await survivor.WaitForOutputAsync(": stopping; graceful stop up to", TimeSpan.FromSeconds(5));
        clock.Restart();
        survivor.Terminate();
        rc = await survivor.WaitForExitAsync(Limit + Slack);
        Assert.True(rc == 128 + 15, $"exit code {rc} after a second SIGTERM:\n{survivor.Tail()}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"exited {clock.Elapsed.TotalSeconds:F1} s after the second SIGTERM");
        Assert.Contains("shutdown: SIGTERM again during the graceful stop: exiting now with code 143", survivor.Output);
    }

    [Fact]
    public async Task Rollout_with_its_embedded_silo_stops_on_SIGTERM_within_its_limit()
    {
        // Before, the embedded host's console lifetime took the signal and the command ran on to its end.
        string work = TreePO.Testing.ScratchFolders.Create("treepo-stop-rollout-").FullName;
        try
        {
            using var rollout = ChildProcess.Dotnet("rollout", Repo.ClientDll,
                ["rollout", "--model", Repo.BuiltinModel, "--queries", "400", "--out", Path.Combine(work, "out"), $"--cluster.shutdownTimeout={Limit:hh\\:mm\\:ss}"],
                new Dictionary<string, string> { ["TREEPO__ENGINE__THREADS"] = "1" }, work);
            await rollout.WaitForOutputAsync("running on embedded silo", TimeSpan.FromSeconds(90));
            await Task.Delay(TimeSpan.FromSeconds(2));   // trees in flight
            Assert.False(rollout.HasExited, rollout.Tail());
            var clock = Stopwatch.StartNew();
            rollout.Terminate();
            int rc = await rollout.WaitForExitAsync(Limit + Slack);
            Assert.True(clock.Elapsed <= Limit + Slack, $"exited {clock.Elapsed.TotalSeconds:F1} s after SIGTERM:\n{rollout.Tail()}");
            Assert.True(rc != 0, $"a rollout cut short exited 0:\n{rollout.Tail()}");
            Assert.Contains("shutdown: SIGTERM: stopping", rollout.Output);
            Assert.DoesNotContain("wrote ", rollout.Output);   // it did not run to its end
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Free for a restarted silo: a listener can bind it on loopback.</summary>
    static bool IsFree(int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        try { listener.Start(); return true; }
        catch (SocketException) { return false; }
        finally { listener.Stop(); }
    }
}
