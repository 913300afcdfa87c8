using System.Diagnostics;
using System.Text.Json;
using Orleans.Runtime;
using TreePO.Cluster.Tests.Support;
using TreePO.Hosting.Clustering.Postgres;
using TreePO.Hosting.Options;

namespace TreePO.Cluster.Tests;

/// <summary>
/// Real processes on postgres clustering: a PostgreSQL started by scripts/ensure-postgres.sh, two silo processes
/// that create the schema and join through the project's membership table, and `treepo rollout --cluster` clients
/// that find the gateways there. One silo is then SIGKILLed: the survivor votes it dead in the table and serves the
/// next rollout alone.
/// </summary>
public sealed class PostgresClusterTests
{
    const int Queries = 8;

    [Fact]
    public async Task Two_silos_and_a_client_form_a_cluster_through_postgres_and_survive_a_killed_silo()
    {
        await using var postgres = await PostgresServer.StartAsync();
        string work = Directory.CreateTempSubdirectory("treepo-pgcluster-").FullName;
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

            await RolloutAsync(cluster, "first");

            victim.Kill();
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

            await RolloutAsync(cluster, "second");   // on the survivor alone
            Assert.False(survivor.HasExited, $"the surviving silo stopped:\n{survivor.Tail()}");
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    static async Task RolloutAsync(PostgresCluster cluster, string batch)
    {
        string outDir = Path.Combine(cluster.WorkDir, batch);
        var client = cluster.StartClient($"rollout-{batch}", "rollout", "--cluster", "--queries", $"{Queries}", "--batch", batch, "--out", outDir);
        int rc;
        try { rc = await client.WaitForExitAsync(TimeSpan.FromSeconds(120)); }
        catch (TimeoutException e) { throw new TimeoutException($"{e.Message}\n{cluster.Logs()}", e); }
        Assert.True(rc == 0, $"rollout {batch} exited {rc}:\n{cluster.Logs()}");
        Assert.Contains("postgres membership at", client.Output);

        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
        Assert.Equal(Queries, summary.RootElement.GetProperty("trees").GetInt32());
        Assert.Equal(0, summary.RootElement.GetProperty("skipped").GetInt32());
        Assert.Equal(Queries, File.ReadAllLines(Path.Combine(outDir, "trees.jsonl")).Length);
    }
}
