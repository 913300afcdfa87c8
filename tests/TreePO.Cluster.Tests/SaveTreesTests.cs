using System.Text.Json.Nodes;
using TreePO.Cluster.Tests.Support;
using TreePO.Testing;

namespace TreePO.Cluster.Tests;

/// <summary>
/// `treepo rollout` and `treepo train --save-trees` as a user runs them, from a folder outside the repository, with
/// the built-in model: the advantages they export agree with docs/trees-format.md, recomputed from the JSON alone;
/// the options-tree key does what the flag does, and a mistyped option or key is refused.
/// </summary>
public sealed class SaveTreesTests
{
    static async Task<(int Code, string Output)> RunAsync(string cwd, params string[] args)
    {
        using var p = ChildProcess.Dotnet("treepo", Repo.ClientDll, args, new Dictionary<string, string>(), cwd);
        int rc = await p.WaitForExitAsync(TimeSpan.FromSeconds(240));
        return (rc, p.Output);
    }

    static string[] Train(string runs, string name, int steps, params string[] more) =>
    [
        "train", "--model", Repo.BuiltinModel, "--name", name, "--runs", runs, "--steps", $"{steps}", "--queries", "4",
        "-w", "4", "-d", "2", "-l", "16", "--eval-queries", "2", "-k", "1", "--eval-max-tokens", "16", "--checkpoint-every", "0", .. more,
    ];

    [Fact]
    public async Task Rollout_and_train_save_trees_export_the_documented_advantages()
    {
        string work = TreePO.Testing.ScratchFolders.Create("treepo-savetrees-").FullName;
        try
        {
            var (rc, output) = await RunAsync(work, "rollout", "--model", Repo.BuiltinModel, "--queries", "8", "--tree.width=4",
                "--tree.depth=2", "--tree.segmentlength=16", "--out", "out");
            Assert.True(rc == 0, output);
            var rows = DocumentedAdvantage.AssertAgree(File.ReadAllLines(Path.Combine(work, "out", "trees.jsonl")), "treepo", "rollout trees.jsonl");
            Assert.Contains(rows, r => Math.Abs(r.Advantage) > 0.1);
            Assert.Equal("treepo", JsonNode.Parse(File.ReadAllText(Path.Combine(work, "out", "summary.json")))!["algo"]!.GetValue<string>());

            string runs = Path.Combine(work, "runs");
            (rc, output) = await RunAsync(work, Train(runs, "flag", 2, "--save-trees"));
            Assert.True(rc == 0, output);
            var metrics = File.ReadAllLines(Path.Combine(runs, "flag", "metrics.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
            var all = new List<DocumentedAdvantage.Row>();
            for (int n = 1; n <= 2; n++)
            {
                var lines = File.ReadAllLines(Path.Combine(runs, "flag", "trees", $"step-{n}.jsonl"));
                var row = metrics.Single(m => m["step"]!.GetValue<int>() == n);
                Assert.Equal(row["trained"]!.GetValue<bool>() ? row["filter_kept"]!.GetValue<int>() : 0, lines.Length);
                Assert.All(lines, l => Assert.Equal(row["policy_version"]!.GetValue<int>(), JsonNode.Parse(l)!["policy_version"]!.GetValue<int>()));
                all.AddRange(DocumentedAdvantage.AssertAgree(lines, "treepo", $"step-{n}.jsonl"));
            }
            Assert.Contains(all, r => Math.Abs(r.Advantage) > 0.1);

            // The options-tree key instead of the flag.
            (rc, output) = await RunAsync(work, Train(runs, "key", 1, "--training.savetrees=true"));
            Assert.True(rc == 0, output);
            Assert.True(File.Exists(Path.Combine(runs, "key", "trees", "step-1.jsonl")), output);

            // Mistyped: refused before anything runs.
            (rc, output) = await RunAsync(work, Train(runs, "typo", 1, "--save-tree"));
            Assert.True(rc != 0, output);
            Assert.Contains("Unknown option 'save-tree' for 'train'; did you mean '--save-trees'?", output);
            (rc, output) = await RunAsync(work, Train(runs, "typo", 1, "--training.savetree=true"));
            Assert.Equal(2, rc);
            Assert.Contains("savetree: unknown key (known: SaveTrees); did you mean TreePO:training:SaveTrees?", output);
            Assert.False(Directory.Exists(Path.Combine(runs, "typo")), output);
            // rollout takes the tree's width as an options-tree key, not a flag: the hint names the key.
            (rc, output) = await RunAsync(work, "rollout", "--widht", "3");
            Assert.Equal(2, rc);
            Assert.Contains("Unknown option 'widht' for 'rollout'; did you mean the options-tree key '--tree.width=VALUE'?", output);
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }
}
