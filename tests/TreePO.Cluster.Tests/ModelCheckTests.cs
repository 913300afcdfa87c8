using TreePO.Testing;
using TreePO.Cluster.Tests.Support;
using TreePO.Hosting.Rollout;

namespace TreePO.Cluster.Tests;

/// <summary>
/// A silo loads and checks its model before it joins: a wrong Model:Path or weights that do not load stop it at start
/// with the folder named, before membership. A silo that serves another model (another hash) joins, but gets no trees
/// and serves no segments for the silos of the cluster's model, and a run whose model differs from the engines' is
/// refused.
/// </summary>
[Trait("Category", "cluster")]
public sealed class ModelCheckTests
{
    [Fact]
    public async Task A_silo_whose_model_does_not_load_stops_before_joining_with_the_folder_named()
    {
        string work = TreePO.Testing.ScratchFolders.Create("treepo-modelcheck-").FullName;
        try
        {
            string missing = Path.Combine(work, "no-such-model");
            string broken = CopyModel(work, "broken");
            string weights = Path.Combine(broken, "model.safetensors");
            using (var f = File.OpenWrite(weights)) f.SetLength(f.Length / 2);   // a torn download

            foreach (var (path, why) in new[] { (missing, "does not exist"), (broken, "does not load") })
            {
                int[] ports = FreePorts.Take(2);
                using var silo = ChildProcess.Dotnet("silo-badmodel", Repo.SiloDll,
                [
                    $"--cluster.siloPort={ports[0]}", $"--cluster.primarySiloPort={ports[0]}", $"--cluster.gatewayPort={ports[1]}",
                    $"--model.path={path}", "--engine.threads=1",
                ], workingDirectory: work);
                int rc = await silo.WaitForExitAsync(TimeSpan.FromSeconds(90));
                Assert.True(rc == 3, silo.Tail());
                Assert.Contains($"model folder {path} {why}", silo.Output);
                Assert.Contains("not joining the cluster", silo.Output);
                Assert.DoesNotContain("Application started", silo.Output);   // the host never started: no membership row
            }
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task A_silo_serving_another_model_gets_no_trees_and_a_run_of_another_model_is_refused()
    {
        string work = TreePO.Testing.ScratchFolders.Create("treepo-modelcheck-").FullName;
        try
        {
            // Same weights and tokenizer, one byte more in config.json: another hash, and a model that loads.
            string other = CopyModel(work, "other", config => config + "\n");
            string third = CopyModel(work, "third", config => config + "\n\n");
            int[] ports = FreePorts.Take(4);
            string clusterId = "mc-" + Guid.NewGuid().ToString("N")[..8];
            string[] Args(int silo, int gateway, string model) =>
            [
                $"--cluster.siloPort={silo}", $"--cluster.primarySiloPort={ports[0]}", $"--cluster.gatewayPort={gateway}",
                $"--cluster.clusterId={clusterId}", $"--model.path={model}", "--engine.threads=1",
            ];
            using var main = ChildProcess.Dotnet("silo-main", Repo.SiloDll, Args(ports[0], ports[1], Repo.BuiltinModel), workingDirectory: work);
            await main.WaitForOutputAsync("Application started", TimeSpan.FromSeconds(90));
            using var odd = ChildProcess.Dotnet("silo-other", Repo.SiloDll, Args(ports[2], ports[3], other), workingDirectory: work);
            await odd.WaitForOutputAsync("Application started", TimeSpan.FromSeconds(90));

            var env = new Dictionary<string, string> { ["TREEPO__MODEL__PATH"] = Repo.BuiltinModel };
            string outDir = Path.Combine(work, "ro");
            using (var rollout = ChildProcess.Dotnet("rollout", Repo.ClientDll, ["rollout", "--cluster", $"--cluster.gatewayPort={ports[1]}", $"--cluster.clusterId={clusterId}",
                "--queries", "8", "--out", outDir, "--tree.width=2", "--tree.depth=2", "--tree.segmentLength=8"], env, work))
                Assert.True(await rollout.WaitForExitAsync(TimeSpan.FromSeconds(180)) == 0, rollout.Tail());
            var summary = RolloutSummary.FromJson(File.ReadAllText(Path.Combine(outDir, "summary.json")));
            Assert.NotEmpty(summary.Engines);
            Assert.All(summary.Engines, e => Assert.StartsWith($"127.0.0.1:{ports[0]}@", e.Engine));

            using (var train = ChildProcess.Dotnet("train", Repo.ClientDll, ["train", "--cluster", $"--cluster.gatewayPort={ports[1]}", $"--cluster.clusterId={clusterId}",
                "--model", third, "--name", "t", "--runs", Path.Combine(work, "runs"), "--steps", "1", "--queries", "2", "-w", "2",
                "-d", "1", "-l", "8", "--eval-queries", "2", "-k", "1", "--eval-max-tokens", "16"], env, work))
            {
                int rc = await train.WaitForExitAsync(TimeSpan.FromSeconds(180));
                Assert.True(rc != 0, train.Tail());
                Assert.Contains($"the run's model {third}", train.Output);
                Assert.Contains("is not the model this cluster's engines serve", train.Output);
            }
            await main.WaitForOutputAsync($"silo S127.0.0.1:{ports[2]}", TimeSpan.FromSeconds(30));
            Assert.Contains("its engines are left out", main.Output);
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    static string CopyModel(string work, string name, Func<string, string>? editConfig = null)
    {
        string dir = Path.Combine(work, name);
        Directory.CreateDirectory(dir);
        foreach (string f in Directory.EnumerateFiles(Repo.BuiltinModel)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        if (editConfig is not null)
        {
            string config = Path.Combine(dir, "config.json");
            File.WriteAllText(config, editConfig(File.ReadAllText(config)));
        }
        return dir;
    }
}
