using System.Text.Json;
using TreePO.Cluster.Tests.Support;
using TreePO.Hosting.Processes;

namespace TreePO.Cluster.Tests;

/// <summary>
/// `treepo eval` and `treepo train` run from a folder outside the repository take their model from --model, else
/// from the options tree (Model:Path, here TREEPO__MODEL__PATH), else they say what to pass.
/// </summary>
public sealed class ModelPathTests
{
    static async Task<(int Code, string Output)> RunAsync(string cwd, Dictionary<string, string> env, params string[] args)
    {
        using var p = ChildProcess.Dotnet("treepo", Repo.ClientDll, args, env, cwd);
        int rc = await p.WaitForExitAsync(TimeSpan.FromSeconds(180));
        return (rc, p.Output);
    }

    [Fact]
    public async Task Eval_and_train_read_model_path_from_the_options_and_name_what_is_missing()
    {
        string work = Directory.CreateTempSubdirectory("treepo-modelpath-").FullName;
        try
        {
            var none = new Dictionary<string, string>();
            var (rc, output) = await RunAsync(work, none, "eval", "--queries", "2", "-k", "1");
            Assert.True(rc == 2, output);
            Assert.Contains("--model", output);

            var configured = new Dictionary<string, string> { ["TREEPO__MODEL__PATH"] = Repo.BuiltinModel };
            string json = Path.Combine(work, "eval.json");
            (rc, output) = await RunAsync(work, configured, "eval", "--queries", "2", "-k", "1", "--max-tokens", "16", "--json", json);
            Assert.True(rc == 0, output);
            using (var doc = JsonDocument.Parse(File.ReadAllText(json)))
                Assert.Equal(Repo.BuiltinModel, doc.RootElement.GetProperty("model").GetString());

            (rc, output) = await RunAsync(work, configured, "train", "--name", "m", "--runs", Path.Combine(work, "runs"), "--steps", "1",
                "--queries", "2", "-w", "2", "-d", "1", "-l", "8", "--eval-queries", "2", "-k", "1", "--eval-max-tokens", "16");
            Assert.True(rc == 0, output);
            using var spec = JsonDocument.Parse(File.ReadAllText(Path.Combine(work, "runs", "m", "run_spec.json")));
            Assert.Equal(Repo.BuiltinModel, spec.RootElement.GetProperty("ModelDir").GetString());
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }
}
