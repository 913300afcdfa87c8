using TreePO.Cluster.Tests.Support;
using TreePO.Testing;

namespace TreePO.Cluster.Tests;

/// <summary>Every command's <c>--help</c> prints its options and exits 0: a description that the console's markup
/// cannot read (square brackets) once made <c>rollout</c>, <c>train</c> and <c>eval --help</c> fail.</summary>
public sealed class CommandHelpTests
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
    }
}
