using TreePO.Testing;
using System.Diagnostics;
using System.Text.Json;
using Npgsql;
using Orleans.Runtime;
using TreePO.Cluster.Tests.Support;
using TreePO.Hosting.Clustering.Postgres;
using TreePO.Hosting.Options;

namespace TreePO.Cluster.Tests;

/// <summary>
/// Real processes on postgres clustering: a PostgreSQL started by scripts/ensure-postgres.sh, two silo processes
/// that create the schema and join through the project's membership table, and `treepo rollout --cluster` clients
/// that find the gateways there. A first rollout runs on both silos; during a second one a silo is SIGKILLed: the
/// survivor votes it dead in the table, and the rollout completes, the dead silo's trees resuming from snapshots
/// in the database (or starting over when they had none yet).
/// </summary>
public sealed class PostgresClusterTests
{
    [Fact]
    public async Task Two_silos_and_a_client_form_a_cluster_through_postgres_and_survive_a_killed_silo()
    {
        await using var postgres = await PostgresServer.StartAsync();
        string work = TreePO.Testing.ScratchFolders.Create("treepo-pgcluster-").FullName;
        try
        {
            using var cluster = new PostgresCluster(postgres.Connection(), work);
            var survivor = cluster.StartSilo("silo-a");
            var victim = cluster.StartSilo("silo-b");
            await Task.WhenAll(survivor.WaitForOutputAsync("Application started", TimeSpan.FromSeconds(90)),
                victim.WaitForOutputAsync("Application started", TimeSpan.FromSeconds(90)));

            await using var table = new PostgresMembershipTable(cluster.Connection, new TreePOOptions().Cluster.ServiceId, cluster.ClusterId);
            var joined = await table.ReadAll();
            Assert.Equal(2, joined.Members.Count(m => m.Item1.Status == SiloStatus.Active));
            Assert.Equal(2, (await table.ReadGatewaysAsync()).Count);

            using (var first = await RolloutAsync(cluster, "first", 8)) { }

            const int Queries = 48;
            var client = cluster.StartClient("rollout-killed", Args("killed", Queries, cluster));
            await client.WaitForOutputAsync("running on", TimeSpan.FromSeconds(90));
            // Trees are spread evenly over both silos (EngineSpreadPlacementDirector.SlotOf): kill once more trees than
            // one silo holds have stored a finished round, so some of them are the victim's (under load the victim's
            // trees can start later than the survivor's: a row of any tree alone proves nothing about them).
            var stored = new HashSet<string>();
            for (var waited = Stopwatch.StartNew(); stored.Count <= Queries / 2 && waited.Elapsed < TimeSpan.FromSeconds(90) && !client.HasExited;)
            {
                await Task.Delay(250);
                stored.UnionWith(await TreesWithSnapshotsAsync(cluster.Connection, "killed/"));
            }
            Assert.False(client.HasExited, $"the rollout ended before the kill:\n{client.Tail()}");
            Assert.True(stored.Count > Queries / 2, $"{stored.Count} of {Queries} trees stored a round within 90 s:\n{cluster.Logs()}");
            victim.Kill();

            using var summary = await FinishAsync(cluster, client, "killed", Queries);
            var s = summary.RootElement;
            int Int(string name) => s.GetProperty(name).GetInt32();
            Assert.True(Int("resumed_trees") + Int("trees_started_over") > 0, $"no tree of the killed silo was restarted:\n{s}\n{cluster.Logs()}");
            Assert.True(Int("resumed_trees") == 0 || (Int("resumed_segments") > 0 && Int("recomputed_segments") > 0), s.ToString());
            Assert.Equal(0, await CountRowsAsync(cluster.Connection));   // finished trees clear theirs

            var clock = Stopwatch.StartNew();
            while (!(await table.ReadAll()).Members.Any(m => m.Item1.Status == SiloStatus.Dead))
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"the killed silo was not voted dead within 60 s:\n{cluster.Logs()}");
                await Task.Delay(250);
            }
            var after = await table.ReadAll();
            Assert.True(after.Version.Version > joined.Version.Version);
            Assert.Single(after.Members, m => m.Item1.Status == SiloStatus.Active);
            Assert.Single(await table.ReadGatewaysAsync());
            Assert.False(survivor.HasExited, $"the surviving silo stopped:\n{survivor.Tail()}");
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    static string[] Args(string batch, int queries, PostgresCluster cluster) =>
        ["rollout", "--cluster", "--queries", $"{queries}", "--batch", batch, "--out", Path.Combine(cluster.WorkDir, batch)];

    static Task<JsonDocument> RolloutAsync(PostgresCluster cluster, string batch, int queries) =>
        FinishAsync(cluster, cluster.StartClient($"rollout-{batch}", Args(batch, queries, cluster)), batch, queries);

    /// <summary>Waits for the client, checks that it ran on postgres membership and wrote every tree; the summary.</summary>
    static async Task<JsonDocument> FinishAsync(PostgresCluster cluster, ChildProcess client, string batch, int queries)
    {
        int rc;
        try { rc = await client.WaitForExitAsync(TimeSpan.FromSeconds(150)); }
        catch (TimeoutException e) { throw new TimeoutException($"{e.Message}\n{cluster.Logs()}", e); }
        Assert.True(rc == 0, $"rollout {batch} exited {rc}:\n{cluster.Logs()}");
        Assert.Contains("postgres membership at", client.Output);

        string outDir = Path.Combine(cluster.WorkDir, batch);
        var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
        Assert.Equal(queries, summary.RootElement.GetProperty("trees").GetInt32());
        Assert.Equal(0, summary.RootElement.GetProperty("skipped").GetInt32());
        var ids = File.ReadAllLines(Path.Combine(outDir, "trees.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("tree_id").GetString()).ToList();
        Assert.Equal(queries, ids.Distinct().Count());
        return summary;
    }

    static async Task<long> CountRowsAsync(string connection)
    {
        await using var c = new NpgsqlConnection(connection);
        await c.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM treepo_grain_state", c);
        return (long)(await count.ExecuteScalarAsync())!;
    }

    /// <summary>The trees of a batch whose stored progress holds a snapshot (a finished round); a tree writes its row,
    /// without one, as soon as it starts. The storage writes the state as JSON (TreeProgress).</summary>
    static async Task<List<string>> TreesWithSnapshotsAsync(string connection, string batchPrefix)
    {
        await using var c = new NpgsqlConnection(connection);
        await c.OpenAsync();
        await using var select = new NpgsqlCommand("SELECT grain_id, data FROM treepo_grain_state WHERE grain_id LIKE @pattern", c);
        select.Parameters.AddWithValue("pattern", $"%/{batchPrefix}%");
        var trees = new List<string>();
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            using var state = JsonDocument.Parse(reader.GetFieldValue<byte[]>(1));
            if (state.RootElement.TryGetProperty(nameof(TreePO.Grains.Trees.TreeProgress.Snapshot), out var snapshot)
                && snapshot.ValueKind == JsonValueKind.String)
                trees.Add(reader.GetString(0));
        }
        return trees;
    }
}
