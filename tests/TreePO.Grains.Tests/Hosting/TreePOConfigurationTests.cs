using Microsoft.Extensions.Configuration;
using TreePO.Hosting.Options;

namespace TreePO.Grains.Tests.Hosting;

public sealed class TreePOConfigurationTests
{
    static TreePOOptions Bind(Dictionary<string, string?> values) =>
        TreePOConfiguration.Bind(new ConfigurationBuilder().AddInMemoryCollection(values).Build());

    [Fact]
    public void Defaults_are_valid_and_localhost()
    {
        var o = Bind([]);
        Assert.Empty(o.Validate());
        Assert.Equal("localhost", o.Cluster.Clustering);
        Assert.Equal(1, o.Engine.Devices);
    }

    [Fact]
    public void Overrides_take_dotted_or_colon_paths_and_leave_other_arguments()
    {
        var (overrides, rest) = TreePOConfiguration.SplitOverrides(
            ["--engine.devices=2", "--TreePO:Tree:Width=4", "--routing.segmenttimeout=00:00:10", "--model", "m", "--mode=tree"]);
        Assert.Equal(["--model", "m", "--mode=tree"], rest);
        var o = Bind(overrides);
        Assert.Equal(2, o.Engine.Devices);
        Assert.Equal(4, o.Tree.Width);
        Assert.Equal(TimeSpan.FromSeconds(10), o.Routing.SegmentTimeout);
    }

    [Fact]
    public void Later_sources_win_json_then_environment_then_command_line()
    {
        string dir = Directory.CreateTempSubdirectory("treepo-config").FullName;
        File.WriteAllText(Path.Combine(dir, "appsettings.json"),
            """{ "TreePO": { "Tree": { "Width": 3, "Depth": 5 }, "Sampling": { "Temperature": 0.7 } } }""");
        Environment.SetEnvironmentVariable("TREEPO__TREE__DEPTH", "6");
        try
        {
            var o = TreePOConfiguration.Load(["--tree.width=7"], out var rest, dir);
            Assert.Empty(rest);
            Assert.Equal(7, o.Tree.Width);
            Assert.Equal(6, o.Tree.Depth);
            Assert.Equal(0.7f, o.Sampling.Temperature);
        }
        finally { Environment.SetEnvironmentVariable("TREEPO__TREE__DEPTH", null); }
    }

    [Fact]
    public void Every_bad_key_is_named_at_once()
    {
        var e = Assert.Throws<TreePOOptionsException>(() => Bind(new()
        {
            ["TreePO:Engine:Devicse"] = "2",
            ["TreePO:Tree:Width"] = "many",
            ["TreePO:Tree:Mode"] = "forest",
            ["TreePO:Sampling:TopP"] = "1.5",
            ["TreePO:Cluster:Clustering"] = "redis",
            ["TreePO:Nope:X"] = "1",
        }));
        Assert.Equal(6, e.Errors.Count);
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Engine:Devicse: unknown key"));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Nope: unknown key"));
        Assert.Contains(e.Errors, x => x.Contains("TreePO:Tree:Width: 'many' is not a valid Int32"));
        Assert.Contains(e.Errors, x => x.Contains("TreePO:Tree:Mode: 'forest' is not a valid RolloutMode (Tree | Sequential)"));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Sampling:TopP: must be in (0, 1]"));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Cluster:Clustering: 'redis' is not supported"));
        Assert.Contains("TreePO:Tree:Width", e.Message);
    }
}
