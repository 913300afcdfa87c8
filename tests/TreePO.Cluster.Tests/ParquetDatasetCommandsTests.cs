using System.Text.Json.Nodes;
using TreePO.Cluster.Tests.Support;
using TreePO.Core.Tasks;
using TreePO.Core.Trees;
using TreePO.Testing;
using P = TreePO.Testing.ParquetDatasets.Problem;

namespace TreePO.Cluster.Tests;

/// <summary>
/// A verl-layout and a GSM8K-style Parquet file (written here with Parquet.Net) through `rollout`, `eval` and
/// `train` as a user runs them from a folder outside the repository, with the built-in model; and a model folder whose
/// chat_template is not ChatML, refused by name and accepted with --chat-format.
/// </summary>
[Trait("Category", "cluster")]
public sealed class ParquetDatasetCommandsTests
{
    static async Task<(int Code, string Output)> RunAsync(string cwd, params string[] args)
    {
        using var p = ChildProcess.Dotnet("treepo", Repo.ClientDll, args, new Dictionary<string, string>(), cwd);
        int rc = await p.WaitForExitAsync(TimeSpan.FromSeconds(240));
        return (rc, p.Output);
    }

    static List<P> Problems(int count)
    {
        var task = new ArithmeticTask(seed: 11);
        return Enumerable.Range(0, count).Select(i => task.Generate(TaskSplit.Test, i)).Select(p => new P(p.Question, p.Answer)).ToList();
    }

    [Theory]
    [InlineData("verl")]
    [InlineData("gsm8k")]
    public async Task A_parquet_dataset_rolls_out_evaluates_and_trains(string format)
    {
        string work = TreePO.Testing.ScratchFolders.Create($"treepo-parquet-{format}-").FullName;
        try
        {
            string data = Path.Combine(work, $"{format}.parquet");
            if (format == "verl") await ParquetDatasets.WriteVerlAsync(data, Problems(6));
            else await ParquetDatasets.WriteGsm8kAsync(data, Problems(6));
            var expected = Problems(6);

            var (rc, output) = await RunAsync(work, "rollout", "--model", Repo.BuiltinModel, "--data", data, "--data-format", format, "--queries", "3",
                "--tree.width=4", "--tree.depth=2", "--tree.segmentlength=8", "--out", "out");
            Assert.True(rc == 0, output);
            var trees = File.ReadAllLines(Path.Combine(work, "out", "trees.jsonl")).Select((l, i) => TreeJson.Read(l, i + 1)).ToList();
            string[] ids = format == "verl" ? ["arith-0", "arith-1", "arith-2"] : [$"{format}.parquet:1", $"{format}.parquet:2", $"{format}.parquet:3"];
            Assert.Equal(ids, trees.Select(t => t.Query.Id));
            Assert.Equal(expected.Take(3).Select(p => p.Answer), trees.Select(t => t.Query.Answer));
            Assert.Contains("3 queries from", output);

            string json = Path.Combine(work, "eval.json");
            (rc, output) = await RunAsync(work, "eval", "--model", Repo.BuiltinModel, "--data", data, "--data-format", format, "--queries", "4",
                "-k", "1", "--max-tokens", "16", "--json", json);
            Assert.True(rc == 0, output);
            var scores = JsonNode.Parse(File.ReadAllText(json))!;
            Assert.Equal(4, scores["queries"]!.GetValue<int>());
            Assert.Equal(0, scores["skipped"]!.GetValue<int>());

            string runs = Path.Combine(work, "runs");
            (rc, output) = await RunAsync(work, "train", "--model", Repo.BuiltinModel, "--name", "p", "--runs", runs, "--steps", "2",
                "--data", data, "--eval-data", data, "--data-format", format, "--queries", "2", "-w", "4", "-d", "2", "-l", "8",
                "--eval-queries", "2", "-k", "1", "--eval-max-tokens", "8", "--checkpoint-every", "0");
            Assert.True(rc == 0, output);
            Assert.Equal([0, 1, 2], File.ReadAllLines(Path.Combine(runs, "p", "metrics.jsonl")).Select(l => JsonNode.Parse(l)!["step"]!.GetValue<int>()));   // step 0: the evaluation before
            Assert.Equal(format, JsonNode.Parse(File.ReadAllText(Path.Combine(runs, "p", "run_spec.json")))!["DataFormat"]!.GetValue<string>());

            (rc, output) = await RunAsync(work, "eval", "--model", Repo.BuiltinModel, "--data", data, "--data-format", "parquet");
            Assert.True(rc != 0, output);
            Assert.Contains("--data-format must be one of jsonl, verl, gsm8k, math, got 'parquet'", output);
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task A_model_whose_template_is_not_chatml_is_refused_and_runs_with_the_override()
    {
        string work = TreePO.Testing.ScratchFolders.Create("treepo-template-").FullName;
        try
        {
            string model = Directory.CreateDirectory(Path.Combine(work, "model")).FullName;
            foreach (string f in Directory.GetFiles(Repo.BuiltinModel))
                File.Copy(f, Path.Combine(model, Path.GetFileName(f)));
            string config = Path.Combine(model, "tokenizer_config.json");
            var json = JsonNode.Parse(File.ReadAllText(config))!;
            json["chat_template"] = "{% for message in messages %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% endfor %}";
            File.WriteAllText(config, json.ToJsonString());

            var (rc, output) = await RunAsync(work, "eval", "--model", model, "--queries", "2", "-k", "1", "--max-tokens", "8");
            Assert.Equal(2, rc);
            Assert.Contains($"{config}: the chat_template is not ChatML-style", output.ReplaceLineEndings(" ").Replace("  ", " "));

            (rc, output) = await RunAsync(work, "eval", "--model", model, "--queries", "2", "-k", "1", "--max-tokens", "8", "--chat-format", "chatml");
            Assert.True(rc == 0, output);
            (rc, output) = await RunAsync(work, "eval", "--model", model, "--queries", "2", "-k", "1", "--max-tokens", "8", "--prompt.format=chatml");
            Assert.True(rc == 0, output);
            (rc, output) = await RunAsync(work, "eval", "--model", model, "--queries", "2", "-k", "1", "--max-tokens", "8", "--chat-format", "jinja");
            Assert.True(rc != 0, output);
            Assert.Contains("--chat-format must be auto, chatml or raw, got 'jinja'", output);
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }
}
