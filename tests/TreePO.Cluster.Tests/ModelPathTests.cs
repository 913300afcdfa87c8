using TreePO.Testing;
using System.Text.Json;
using System.Text.RegularExpressions;
using TreePO.Cluster.Tests.Support;

namespace TreePO.Cluster.Tests;

/// <summary>
/// `treepo eval`, `train` and `rollout` run from a folder outside the repository: they take their model from --model,
/// else from the options tree (Model:Path, here TREEPO__MODEL__PATH), else the built-in model shipped beside the
/// program, and they name a model folder that is not there. Their standard output is redirected here, so their
/// progress must come as whole plain lines: one per step or tree, no escape sequences, no wrapping.
/// </summary>
public sealed class ModelPathTests
{
    static async Task<(int Code, string Output)> RunAsync(string cwd, Dictionary<string, string> env, params string[] args)
    {
        using var p = ChildProcess.Dotnet("treepo", Repo.ClientDll, args, env, cwd);
        int rc = await p.WaitForExitAsync(TimeSpan.FromSeconds(180));
        return (rc, p.Output);
    }

    static string BesideClient => Path.Combine(Path.GetDirectoryName(Repo.ClientDll)!, "models", "builtin");

    static string[] Lines(string output) => output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();

    static void Plain(string output)
    {
        Assert.DoesNotContain('\u001b', output);   // no colour, cursor or erase sequences
        Assert.DoesNotContain('\r', output.Replace("\r\n", "\n"));
    }

    [Fact]
    public async Task Eval_and_train_read_model_path_from_the_options_and_name_what_is_missing()
    {
        string work = TreePO.Testing.ScratchFolders.Create("treepo-modelpath-").FullName;
        try
        {
            var none = new Dictionary<string, string>();
            string missing = Path.Combine(work, "no-such-model");
            var (rc, output) = await RunAsync(work, none, "eval", "--model", missing, "--queries", "2", "-k", "1");
            Assert.True(rc == 2, output);
            Assert.Contains($"model folder {missing} does not exist", output);
            Assert.Contains("--model", output);

            var configured = new Dictionary<string, string> { ["TREEPO__MODEL__PATH"] = Repo.BuiltinModel };
            string json = Path.Combine(work, "eval.json");
            (rc, output) = await RunAsync(work, configured, "eval", "--queries", "2", "-k", "1", "--max-tokens", "16", "--json", json);
            Assert.True(rc == 0, output);
            Plain(output);
            Assert.Contains("sampling 1 answers for each of 2 queries...", Lines(output));
            using (var doc = JsonDocument.Parse(File.ReadAllText(json)))
                Assert.Equal(Repo.BuiltinModel, doc.RootElement.GetProperty("model").GetString());

            (rc, output) = await RunAsync(work, configured, "train", "--name", "m", "--runs", Path.Combine(work, "runs"), "--steps", "2",
                "--queries", "2", "-w", "2", "-d", "1", "-l", "8", "--eval-queries", "2", "-k", "1", "--eval-max-tokens", "16");
            Assert.True(rc == 0, output);
            using var spec = JsonDocument.Parse(File.ReadAllText(Path.Combine(work, "runs", "m", "run_spec.json")));
            Assert.Equal(Repo.BuiltinModel, spec.RootElement.GetProperty("ModelDir").GetString());
            // One whole line per step (the last one at least; a step faster than a poll may share a line with the next).
            Plain(output);
            var steps = Lines(output).Where(l => l.StartsWith("step ", StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(steps);
            Assert.All(steps, l => Assert.Matches(@"^step [0-2]/2 \w+: reward \S+ acc (-|[\d.]+ ?%) len \S+ tok/s \S+ update \S+ s on \S+/\S+ tok held-out [\d.]+ ?%$", l));
            Assert.StartsWith("step 2/2 ", steps[^1]);
            Assert.Equal(steps.Count, steps.Distinct().Count());
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task Level_5_takes_the_deep_built_in_model_and_its_budget_from_any_folder()
    {
        string work = TreePO.Testing.ScratchFolders.Create("treepo-deep-").FullName;
        try
        {
            var none = new Dictionary<string, string>();
            string deep = Path.Combine(Path.GetDirectoryName(Repo.ClientDll)!, "models", "builtin-deep");
            string json = Path.Combine(work, "eval.json");
            var (rc, output) = await RunAsync(work, none, "eval", "--level", "5", "--queries", "2", "-k", "1", "--json", json);
            Assert.True(rc == 0, output);
            using (var doc = JsonDocument.Parse(File.ReadAllText(json)))
            {
                Assert.Equal(deep, doc.RootElement.GetProperty("model").GetString());
                Assert.Equal(256, doc.RootElement.GetProperty("max_tokens").GetInt32());
            }

            // By name, with a flag over the deep defaults: -l wins, d = 8 stays.
            (rc, output) = await RunAsync(work, none, "train", "--model", "builtin-deep", "--level", "5", "-l", "16", "--name", "d",
                "--runs", Path.Combine(work, "runs"), "--steps", "1", "--queries", "2", "-w", "2", "--eval-queries", "2", "-k", "1");
            Assert.True(rc == 0, output);
            using var spec = JsonDocument.Parse(File.ReadAllText(Path.Combine(work, "runs", "d", "run_spec.json")));
            Assert.Equal(deep, spec.RootElement.GetProperty("ModelDir").GetString());
            Assert.Equal((5, 256), (spec.RootElement.GetProperty("TaskLevel").GetInt32(), spec.RootElement.GetProperty("EvalMaxTokens").GetInt32()));
            using var tree = JsonDocument.Parse(spec.RootElement.GetProperty("TreeConfigJson").GetString()!);
            Assert.Equal((8, 16), (tree.RootElement.GetProperty("depth").GetInt32(), tree.RootElement.GetProperty("segment_len").GetInt32()));
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task Eval_and_rollout_with_no_model_configured_use_the_built_in_model_beside_the_program()
    {
        string work = TreePO.Testing.ScratchFolders.Create("treepo-modelpath-").FullName;
        try
        {
            var none = new Dictionary<string, string>();
            string json = Path.Combine(work, "eval.json");
            var (rc, output) = await RunAsync(work, none, "eval", "--queries", "2", "-k", "1", "--max-tokens", "16", "--json", json);
            Assert.True(rc == 0, output);
            using (var doc = JsonDocument.Parse(File.ReadAllText(json)))
                Assert.Equal(BesideClient, doc.RootElement.GetProperty("model").GetString());

            (rc, output) = await RunAsync(work, none, "rollout", "--queries", "3", "--out", Path.Combine(work, "ro"),
                "--tree.width=2", "--tree.depth=2", "--tree.segmentLength=8");
            Assert.True(rc == 0, output);
            Assert.Contains($"model {BesideClient};", output);
            Assert.Equal(3, File.ReadAllLines(Path.Combine(work, "ro", "trees.jsonl")).Length);
            Plain(output);
            var trees = Lines(output).Where(l => l.StartsWith("trees ", StringComparison.Ordinal)).ToList();
            Assert.Equal(3, trees.Count);
            for (int i = 0; i < 3; i++)
                Assert.Matches($@"^trees {i + 1}/3  trajectories \d+  \d+ tokens/s  [\d.]+ s$", trees[i]);
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }
}
