using System.Text.Json;
using TreePO.Cluster.Tests.Support;

namespace TreePO.Cluster.Tests;

/// <summary>
/// Real processes: Redis, two silo processes with two simulated engines each (`--engine.simulated=true`) and a
/// `treepo rollout --cluster` client. Every tree completes, and the trees' requests reach all four engines.
/// </summary>
public sealed class SimulatedEngineClusterTests
{
    const int Queries = 32;

    [Fact]
    public async Task A_rollout_on_two_silos_of_two_simulated_engines_completes_every_tree_and_uses_all_four()
    {
        using var redis = await RedisServer.StartAsync();
        string work = TreePO.Testing.ScratchFolders.Create("treepo-simulated-").FullName;
        try
        {
            using var cluster = new RedisCluster(redis, work);
            cluster.Environment["TREEPO__ENGINE__SIMULATED"] = "true";
            cluster.Environment["TREEPO__ENGINE__DEVICES"] = "2";
            var silos = new[] { cluster.StartSilo("silo-a"), cluster.StartSilo("silo-b") };
            foreach (var silo in silos) await silo.WaitForOutputAsync("Application started", TimeSpan.FromSeconds(90));

            string outDir = Path.Combine(work, "out");
            var client = cluster.StartClient("rollout", "rollout", "--cluster", "--queries", $"{Queries}", "--batch", "sim", "--out", outDir);
            int rc;
            try { rc = await client.WaitForExitAsync(TimeSpan.FromSeconds(150)); }
            catch (TimeoutException e) { throw new TimeoutException($"{e.Message}\n{cluster.Logs()}", e); }
            Assert.True(rc == 0, $"rollout exited {rc}:\n{cluster.Logs()}");

            using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
            var s = summary.RootElement;
            Assert.Equal(Queries, s.GetProperty("trees").GetInt32());
            Assert.Equal(0, s.GetProperty("skipped").GetInt32());
            // The scripted answers end, and with the boxed sentence the trees find finished paths.
            Assert.True(s.GetProperty("trajectories").GetInt32() >= Queries, s.ToString());
            // The simulated engines' script wrote them (the built-in model writes "3+4=7. \boxed{7}", never this sentence).
            Assert.Contains("The answer is \\\\boxed{", File.ReadAllText(Path.Combine(outDir, "trees.jsonl")));
            var engines = s.GetProperty("engines").EnumerateArray()
                .Select(e => (Name: e.GetProperty("engine").GetString()!, Requests: e.GetProperty("requests").GetInt64())).ToList();
            Assert.Equal(4, engines.Count);
            Assert.All(engines, e => Assert.True(e.Requests > 0, $"engine {e.Name} served no request: {s}"));
            Assert.Equal(2, engines.Select(e => e.Name[..e.Name.LastIndexOf('/')]).Distinct().Count());
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }
}
