using System.Globalization;
using System.Text.RegularExpressions;
using TreePO.Cluster.Tests.Support;
using TreePO.Testing;

namespace TreePO.Cluster.Tests;

/// <summary>Every command's <c>--help</c> prints its options and exits 0: a description that the console's markup
/// cannot read (square brackets) once made <c>rollout</c>, <c>train</c> and <c>eval --help</c> fail.</summary>
public sealed partial class CommandHelpTests
{
    [Theory]
    [InlineData("doctor")]
    [InlineData("score")]
    [InlineData("rollout")]
    [InlineData("tokenize")]
    [InlineData("pretrain")]
    [InlineData("train")]
    [InlineData("eval")]
    [InlineData("status")]
    public async Task Help_lists_the_options(string command)
    {
        using var p = ChildProcess.Dotnet("treepo", Repo.ClientDll, [command, "--help"]);
        int rc = await p.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.True(rc == 0, $"treepo {command} --help exited {rc}:\n{p.Tail()}");
        Assert.Contains("OPTIONS:", p.Output);
        Assert.Contains("--help", p.Output);
        Assert.DoesNotContain("Error:", p.Output);
        // An option line that ends at its name (or value placeholder) tells a user nothing: each one is described.
        var bare = p.Output.Split('\n').Where(l => BareOption().IsMatch(l)).Select(l => l.Trim()).ToList();
        Assert.True(bare.Count == 0, $"treepo {command} --help lists options without a description: {string.Join(", ", bare)}");
    }

    /// <summary>The defaults `pretrain --help` states are the recipe's (PretrainOptions), so the text cannot drift.</summary>
    [Fact]
    public async Task Pretrain_help_states_the_recipes_defaults()
    {
        using var p = ChildProcess.Dotnet("treepo", Repo.ClientDll, ["pretrain", "--help"]);
        Assert.Equal(0, await p.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        string help = Regex.Replace(p.Output, @"\s+", " ");   // a description wraps onto lines of its own column
        var recipe = new TreePO.Engine.Training.PretrainOptions();
        var stated = new Dictionary<string, object>
        {
            ["--seed"] = recipe.Seed, ["--difficulty"] = recipe.Difficulty, ["--merges"] = recipe.TokenizerMerges,
            ["--hidden"] = recipe.HiddenSize, ["--layers"] = recipe.Layers, ["--heads"] = recipe.Heads, ["--kv-heads"] = recipe.KvHeads,
            ["--intermediate"] = recipe.IntermediateSize, ["--steps"] = recipe.MaxSteps, ["--batch"] = recipe.BatchSize,
            ["--lr"] = recipe.LearningRate, ["--eval-k"] = recipe.EvalK, ["--tokenizer-corpus"] = recipe.TokenizerCorpus,
            ["--stop-at"] = recipe.StopAtAccuracy, ["--eval-every"] = recipe.EvalEvery, ["--eval-queries"] = recipe.EvalQueries,
            ["--max-positions"] = recipe.MaxPositions, ["--max-response-tokens"] = recipe.MaxResponseTokens,
        };
        foreach (var (option, value) in stated)
        {
            var m = Regex.Match(help, $@" {Regex.Escape(option)} <[A-Z]+> (?:(?! --[a-z]).)*?default (?<v>[0-9.]*[0-9])");
            Assert.True(m.Success, $"pretrain --help states no default for {option}:\n{p.Output}");
            Assert.Equal(Convert.ToDouble(value, CultureInfo.InvariantCulture), double.Parse(m.Groups["v"].Value, CultureInfo.InvariantCulture));
        }
    }

    [GeneratedRegex(@"^\s+(-\w\|?\s*)?--[a-z0-9-]+(\s+<[^>]+>)?\s*$")]
    private static partial Regex BareOption();
}
