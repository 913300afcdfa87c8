using System.Text.Json;
using TreePO.Cluster.Tests.Support;

namespace TreePO.Cluster.Tests;

/// <summary>
/// Real processes: Redis, two silo processes and a `treepo rollout --cluster` client. One silo is SIGKILLed while
/// the trees run; the rollout still completes every tree (trees of the dead silo are asked again and resume on the
/// other one from their stored snapshots) and its summary counts what was resumed and recomputed.
/// </summary>
public sealed class KilledSiloTests
{
    const int Queries = 96;

    [Fact]
    public async Task A_rollout_survives_a_silo_process_killed_in_the_middle()
    {
        using var redis = await RedisServer.StartAsync();
        string work = TreePO.Testing.ScratchFolders.Create("treepo-killed-").FullName;
        try
        {
            using var cluster = new RedisCluster(redis, work);
            var survivor = await cluster.StartSiloAsync("silo-a");
            var victim = await cluster.StartSiloAsync("silo-b");

            string outDir = Path.Combine(work, "out");
            var client = cluster.StartClient("rollout", "rollout", "--cluster", "--queries", $"{Queries}", "--batch", "killed", "--out", outDir);
            await client.WaitForOutputAsync("running on", TimeSpan.FromSeconds(90));
            // The victim's engine loads when its first trees reach it (under load that can take seconds); kill it once
            // its trees have stored a snapshot (a finished round), whatever time that takes.
            await victim.WaitForOutputAsync("loaded (max sequence length", TimeSpan.FromSeconds(90));
            await victim.WaitForOutputAsync("first tree snapshot stored", TimeSpan.FromSeconds(90));
            Assert.False(client.HasExited, $"the rollout ended before the kill:\n{client.Tail()}");
            victim.Kill();

            int rc;
            try { rc = await client.WaitForExitAsync(TimeSpan.FromSeconds(150)); }
            catch (TimeoutException e) { throw new TimeoutException($"{e.Message}\n{cluster.Logs()}", e); }
            Assert.True(rc == 0, $"rollout exited {rc}:\n{cluster.Logs()}");
            Assert.False(survivor.HasExited, $"the surviving silo stopped:\n{survivor.Tail()}");

            using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
            var s = summary.RootElement;
            int Int(string name) => s.GetProperty(name).GetInt32();
            // No tree lost (a failed tree is reported by the client, with its error, and counted as skipped).
            Assert.True(Int("trees") == Queries && Int("skipped") == 0,
                $"{Int("trees")} trees of {Queries}, {Int("skipped")} skipped:\n{client.Tail()}\n{cluster.Logs()}");
            var ids = File.ReadAllLines(Path.Combine(outDir, "trees.jsonl"))
                .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("tree_id").GetString()).ToList();
            Assert.Equal(Queries, ids.Distinct().Count());

            // The kill hit trees in flight: they were asked again (so were trees whose calls went through the dead
            // silo's gateway) and the dead silo's trees either resumed from a snapshot (its segments counted, the
            // lost round recomputed) or, killed in their first round, started over.
            int lost = Int("resumed_trees") + Int("trees_started_over");
            Assert.True(lost > 0, $"no tree of the killed silo was restarted:\n{s}");
            Assert.InRange(Int("tree_restarts"), lost, Queries);
            Assert.True(Int("resumed_trees") == 0 || (Int("resumed_segments") > 0 && Int("recomputed_segments") > 0), s.ToString());
            Assert.Contains("resumed trees", client.Output);   // and the table shows it
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }
}
