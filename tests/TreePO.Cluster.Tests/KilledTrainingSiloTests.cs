using TreePO.Testing;
using System.Text.Json;
using TreePO.Cluster.Tests.Support;

namespace TreePO.Cluster.Tests;

/// <summary>
/// Real processes: Redis, two silo processes and a `treepo train --cluster` client; one silo is SIGKILLed in the
/// middle of the run. Losing a silo that only samples costs its trees' lost segments (they are asked again); losing
/// the silo of the run and its trainer costs the steps since the last checkpoint (the client starts the run again
/// from it). Either way the run ends with every step logged exactly once.
/// </summary>
public sealed class KilledTrainingSiloTests
{
    const int Steps = 4;

    [Fact]
    public Task Training_survives_losing_a_silo_that_only_samples() => RunAsync(killRunSilo: false);

    [Fact]
    public Task Training_resumes_from_its_checkpoint_when_the_trainer_silo_dies() => RunAsync(killRunSilo: true);

    static async Task RunAsync(bool killRunSilo)
    {
        using var redis = await RedisServer.StartAsync();
        string work = TreePO.Testing.ScratchFolders.Create("treepo-killed-train-").FullName;
        try
        {
            using var cluster = new RedisCluster(redis, work);
            var (client, runSilo, other, runDir) = await TrainingOnCluster.StartAsync(cluster, "killed", Steps, checkpointEvery: 1);
            var (victim, survivor) = killRunSilo ? (runSilo, other) : (other, runSilo);

            // After step 1 (and its checkpoint, when the run silo is the victim): the kill lands in a later step.
            await TrainingOnCluster.StepLoggedAsync(runDir, 1, TimeSpan.FromSeconds(120));
            if (killRunSilo)
                await Eventually.TrueAsync(() => File.Exists(Path.Combine(runDir, "checkpoints", "step-1", "run_state.json")), TimeSpan.FromSeconds(60), "checkpoint step-1 written", pollMs: 100);
            Assert.False(client.HasExited, $"the run ended before the kill:\n{client.Tail()}");
            victim.Kill();

            int rc;
            try { rc = await client.WaitForExitAsync(TimeSpan.FromSeconds(180)); }
            catch (TimeoutException e) { throw new TimeoutException($"{e.Message}\n{cluster.Logs()}", e); }
            Assert.True(rc == 0, $"train exited {rc}:\n{cluster.Logs()}");
            Assert.False(survivor.HasExited, $"the surviving silo stopped:\n{survivor.Tail()}");

            using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(runDir, "summary.json")));
            var s = summary.RootElement;
            Assert.Equal(Steps, s.GetProperty("steps").GetInt32());
            var logged = File.ReadAllLines(Path.Combine(runDir, "metrics.jsonl"))
                .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt32()).ToList();
            Assert.Equal(Enumerable.Range(0, Steps + 1), logged);   // every step once, in order, none lost or doubled
            if (killRunSilo)
            {
                Assert.Contains("resuming from", client.Output);
                Assert.InRange(s.GetProperty("resumed_from_step").GetInt32(), 1, Steps - 1);
                Assert.Contains($"run continues on silo 127.0.0.1:{cluster.SiloPort(survivor)}", client.Output);
            }
            else
            {
                Assert.Equal(JsonValueKind.Null, s.GetProperty("resumed_from_step").ValueKind);
                Assert.DoesNotContain("resuming from", client.Output);
            }
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }
}
