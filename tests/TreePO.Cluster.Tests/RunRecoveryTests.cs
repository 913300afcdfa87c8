using System.Text.Json;
using TreePO.Cluster.Tests.Support;
using TreePO.Testing;

namespace TreePO.Cluster.Tests;

/// <summary>
/// Real processes: Redis or PostgreSQL, two silos with a short recovery period (Run:RecoveryPeriod), and a `treepo train
/// --cluster` client. After the run's first checkpoint the client and then the silo of the run and its trainer are
/// SIGKILLed: no client is left to resume the run, only its reminder, which the surviving silo takes over. The run
/// continues there from its checkpoint (not from the start) and finishes with every step logged exactly once, and
/// `treepo status` says so.
/// </summary>
public sealed class RunRecoveryTests
{
    const int Steps = 4;

    [Fact]
    public async Task On_redis_a_run_whose_silo_and_client_died_resumes_on_the_surviving_silo_from_its_checkpoint()
    {
        using var redis = await RedisServer.StartAsync();
        string work = TreePO.Testing.ScratchFolders.Create("treepo-recovery-").FullName;
        try
        {
            using var cluster = new RedisCluster(redis, work);
            await RecoverAsync(cluster);
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task On_postgres_a_run_whose_silo_and_client_died_resumes_on_the_surviving_silo_from_its_checkpoint()
    {
        await using var postgres = await PostgresServer.StartAsync();
        string work = TreePO.Testing.ScratchFolders.Create("treepo-recovery-pg-").FullName;
        try
        {
            using var cluster = new PostgresCluster(postgres.Connection(), work);
            await RecoverAsync(cluster);
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    static async Task RecoverAsync(ProcessCluster cluster)
    {
        cluster.Environment["TREEPO__RUN__RECOVERYPERIOD"] = "00:00:03";
        var (client, victim, survivor, runDir) = await TrainingOnCluster.StartAsync(cluster, "orphan", Steps, checkpointEvery: 1);

        await Eventually.TrueAsync(() => File.Exists(Path.Combine(runDir, "checkpoints", "step-1", "run_state.json")), TimeSpan.FromSeconds(120),
            "checkpoint step-1 written", pollMs: 100);
        Assert.False(File.Exists(Path.Combine(runDir, "summary.json")), $"the run ended before the kill:\n{cluster.Logs()}");
        client.Kill();   // first: no client is left to resume the run
        victim.Kill();

        try
        {
            await Eventually.TrueAsync(() => File.Exists(Path.Combine(runDir, "summary.json")), TimeSpan.FromSeconds(180),
                "the run finished on the surviving silo", pollMs: 250);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n{cluster.Logs()}", e);
        }
        Assert.False(survivor.HasExited, $"the surviving silo stopped:\n{survivor.Tail()}");
        Assert.Contains("its reminder resumes it here", survivor.Output);

        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(runDir, "summary.json")));
        var s = summary.RootElement;
        Assert.Equal(Steps, s.GetProperty("steps").GetInt32());
        Assert.InRange(s.GetProperty("resumed_from_step").GetInt32(), 1, Steps - 1);   // from a checkpoint, not the start
        var logged = File.ReadAllLines(Path.Combine(runDir, "metrics.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt32()).ToList();
        Assert.Equal(Enumerable.Range(0, Steps + 1), logged);   // every step once, in order, none lost or doubled

        // `treepo status` tells a user whose client is gone where the run went and how it ended.
        var status = cluster.StartClient("status", "status", "orphan");
        Assert.Equal(0, await status.WaitForExitAsync(TimeSpan.FromSeconds(120)));
        Assert.Contains($"run orphan: finished, step {Steps} of {Steps}", status.Output);
        Assert.Contains($"on silo 127.0.0.1:{cluster.SiloPort(survivor)}", status.Output);
        Assert.Matches(@"resumed from the checkpoint of step [1-3]", status.Output);
        Assert.Matches($@"run storage: not active \(finished, failed or cancelled\); {Steps} steps; resumed [1-9]\d* times? by its reminder", status.Output);
        var unknown = cluster.StartClient("status-unknown", "status", "no-such-run");
        Assert.Equal(2, await unknown.WaitForExitAsync(TimeSpan.FromSeconds(120)));
        Assert.Contains("no run named no-such-run", unknown.Output);
    }
}
