using System.Text.Json;
using TreePO.Cluster.Tests.Support;
using TreePO.Testing;

namespace TreePO.Cluster.Tests;

/// <summary>
/// Real processes: Redis, two silos, a client; SIGTERM (not SIGKILL) to one silo in the middle of the work. The silo
/// drains before it leaves: no new trees are placed on it, the trees already there finish and are collected (none is
/// sampled again, from scratch or from a snapshot), and a training run living on it checkpoints its last finished
/// step, so that its client resumes it on the other silo from there (or, with the client gone, the run's reminder
/// does). The silo then exits 0.
/// </summary>
public sealed class SiloDrainTests
{
    // A drain budget (half the graceful share of Cluster:ShutdownTimeout) that a loaded 2-core machine can meet.
    const string Limit = "--cluster.shutdownTimeout=00:01:00";

    [Fact]
    public async Task A_silo_stopped_by_SIGTERM_mid_rollout_finishes_its_trees_and_none_is_sampled_again()
    {
        const int queries = 48;
        using var redis = await RedisServer.StartAsync();
        string work = TreePO.Testing.ScratchFolders.Create("treepo-drain-").FullName;
        try
        {
            using var cluster = new RedisCluster(redis, work);
            var survivor = cluster.StartSilo("silo-a", Limit);
            var victim = cluster.StartSilo("silo-b", Limit);
            await survivor.WaitForOutputAsync("Application started", TimeSpan.FromSeconds(90));
            await victim.WaitForOutputAsync("Application started", TimeSpan.FromSeconds(90));

            string outDir = Path.Combine(work, "out");
            var client = cluster.StartClient("rollout", "rollout", "--cluster", "--queries", $"{queries}", "--batch", "drain", "--out", outDir);
            // Trees are in flight on the victim once one of them stored a finished round.
            await victim.WaitForOutputAsync("first tree snapshot stored", TimeSpan.FromSeconds(120));
            Assert.False(client.HasExited, $"the rollout ended before the stop:\n{client.Tail()}");
            victim.Terminate();

            int victimRc = await victim.WaitForExitAsync(TimeSpan.FromSeconds(70));
            int rc;
            try { rc = await client.WaitForExitAsync(TimeSpan.FromSeconds(150)); }
            catch (TimeoutException e) { throw new TimeoutException($"{e.Message}\n{cluster.Logs()}", e); }
            Assert.True(rc == 0, $"rollout exited {rc}:\n{cluster.Logs()}");
            Assert.True(victimRc == 0, $"the drained silo exited {victimRc}:\n{victim.Tail()}");
            Assert.False(survivor.HasExited, $"the other silo stopped:\n{survivor.Tail()}");

            using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
            var s = summary.RootElement;
            Assert.Equal(queries, s.GetProperty("trees").GetInt32());
            Assert.True(s.GetProperty("trees_started_over").GetInt32() == 0, $"a tree was sampled again from scratch:\n{s}\n{victim.Tail()}");
            Assert.True(s.GetProperty("resumed_trees").GetInt32() == 0, $"a tree was resumed from a snapshot (its silo left it unfinished):\n{s}\n{victim.Tail()}");
            Assert.Contains("draining: ", victim.Output);
            Assert.Contains("drained in ", victim.Output);   // every tree on it finished and was collected in time
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public Task A_run_whose_silo_is_stopped_by_SIGTERM_checkpoints_there_and_resumes_on_the_other_silo() =>
        DrainRunAsync(clientGone: false);

    [Fact]
    public Task A_drained_run_whose_client_is_gone_is_resumed_on_the_other_silo_by_its_reminder() =>
        DrainRunAsync(clientGone: true);

    /// <summary>SIGTERM to the silo of a run while it samples step 2. With its client alive, the client resumes it; with
    /// the client killed first, only the run's reminder (Run:RecoveryPeriod) can, from the checkpoint the drain wrote.</summary>
    static async Task DrainRunAsync(bool clientGone)
    {
        const int steps = 3;
        using var redis = await RedisServer.StartAsync();
        string work = TreePO.Testing.ScratchFolders.Create("treepo-drain-train-").FullName;
        try
        {
            using var cluster = new RedisCluster(redis, work);
            if (clientGone) cluster.Environment["TREEPO__RUN__RECOVERYPERIOD"] = "00:00:03";
            // No periodic checkpoints: the only one before the end is the one the drain writes. Engines of 8 slots make
            // sampling most of a step's time, so that the stop lands while step 2 samples (with room for a step's 64
            // sequences, sampling took no longer than the update, and a stop during the update rightly leaves no
            // checkpoint of step 1: the trainer has moved past it).
            var (client, victim, survivor, runDir) = await TrainingOnCluster.StartAsync(cluster, "drained", steps, checkpointEvery: 0,
                Limit, "--engine.maxSlots=8");

            // Step 1 is logged; the run is then sampling step 2, where most of a step's time goes.
            await TrainingOnCluster.StepLoggedAsync(runDir, 1, TimeSpan.FromSeconds(120));
            Assert.False(client.HasExited, $"the run ended before the stop:\n{client.Tail()}");
            if (clientGone) client.Kill();   // first: nobody is left to resume the run but its reminder
            victim.Terminate();

            int victimRc = await victim.WaitForExitAsync(TimeSpan.FromSeconds(70));
            Assert.True(victimRc == 0, $"the drained silo exited {victimRc}:\n{victim.Tail()}");
            Assert.Contains("drained: checkpoint of step", victim.Output);
            if (clientGone)
            {
                try
                {
                    await Eventually.TrueAsync(() => File.Exists(Path.Combine(runDir, "summary.json")), TimeSpan.FromSeconds(180),
                        "the run finished on the other silo", pollMs: 250);
                }
                catch (TimeoutException e) { throw new TimeoutException($"{e.Message}\n{cluster.Logs()}", e); }
                Assert.Contains("its reminder resumes it here from", survivor.Output);
                Assert.DoesNotContain("its reminder resumes it here from the start", survivor.Output);   // from the drain's checkpoint
            }
            else
            {
                int rc;
                try { rc = await client.WaitForExitAsync(TimeSpan.FromSeconds(180)); }
                catch (TimeoutException e) { throw new TimeoutException($"{e.Message}\n{cluster.Logs()}", e); }
                Assert.True(rc == 0, $"train exited {rc}:\n{cluster.Logs()}");
                Assert.Contains("resuming from", client.Output);   // the drained checkpoint: no periodic one was written
                Assert.Contains($"run continues on silo 127.0.0.1:{cluster.SiloPort(survivor)}", client.Output);
            }
            Assert.False(survivor.HasExited, $"the other silo stopped:\n{survivor.Tail()}");

            using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(runDir, "summary.json")));
            Assert.Equal(steps, summary.RootElement.GetProperty("steps").GetInt32());
            Assert.InRange(summary.RootElement.GetProperty("resumed_from_step").GetInt32(), 1, steps - 1);
            var logged = File.ReadAllLines(Path.Combine(runDir, "metrics.jsonl"))
                .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt32()).ToList();
            Assert.Equal(Enumerable.Range(0, steps + 1), logged);   // every step once: none lost, none doubled
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }
}
