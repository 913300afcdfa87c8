using Microsoft.Extensions.Configuration;
using TreePO.Core.Protocol;
using TreePO.Core.Trees;
using TreePO.Hosting.Models;
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
        Assert.Equal("1", o.Engine.Devices);
    }

    [Fact]
    public void Overrides_take_dotted_or_colon_paths_and_leave_other_arguments()
    {
        var (overrides, rest) = TreePOConfiguration.SplitOverrides(
            ["--engine.devices=2", "--TreePO:Tree:Width=4", "--routing.segmenttimeout=00:00:10", "--model", "m", "--mode=tree"]);
        Assert.Equal(["--model", "m", "--mode=tree"], rest);
        var o = Bind(overrides);
        Assert.Equal("2", o.Engine.Devices);
        Assert.Equal(4, o.Tree.Width);
        Assert.Equal(TimeSpan.FromSeconds(10), o.Routing.SegmentTimeout);
    }

    [Fact]
    public void Later_sources_win_json_then_environment_then_command_line()
    {
        string dir = TreePO.Testing.ScratchFolders.Create("treepo-config").FullName;
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
    public void Shutdown_timeout_defaults_to_30_s_and_a_value_out_of_range_is_refused()
    {
        Assert.Equal(TimeSpan.FromSeconds(30), Bind([]).Cluster.ShutdownTimeout);
        Assert.Equal(TimeSpan.FromSeconds(5), Bind(new() { ["TreePO:Cluster:ShutdownTimeout"] = "00:00:05" }).Cluster.ShutdownTimeout);
        foreach (string bad in new[] { "00:00:00", "-00:00:05", "02:00:00" })
        {
            var e = Assert.Throws<TreePOOptionsException>(() => Bind(new() { ["TreePO:Cluster:ShutdownTimeout"] = bad }));
            Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Cluster:ShutdownTimeout: must be between 00:00:01 and 01:00:00"));
        }
    }

    [Fact]
    public void Recovery_period_defaults_to_a_minute_and_one_under_a_second_is_refused()
    {
        Assert.Equal(TimeSpan.FromMinutes(1), Bind([]).Run.RecoveryPeriod);
        Assert.Equal(TimeSpan.FromSeconds(3), Bind(new() { ["TreePO:Run:RecoveryPeriod"] = "00:00:03" }).Run.RecoveryPeriod);
        foreach (string bad in new[] { "00:00:00", "-00:00:05", "00:00:00.500" })
        {
            var e = Assert.Throws<TreePOOptionsException>(() => Bind(new() { ["TreePO:Run:RecoveryPeriod"] = bad }));
            Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Run:RecoveryPeriod: must be at least 00:00:01"));
        }
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
            ["TreePO:Cluster:Clustering"] = "etcd",
            ["TreePO:Nope:X"] = "1",
        }));
        Assert.Equal(6, e.Errors.Count);
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Engine:Devicse: unknown key"));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Nope: unknown key"));
        Assert.Contains(e.Errors, x => x.Contains("TreePO:Tree:Width: 'many' is not a valid Int32"));
        Assert.Contains(e.Errors, x => x.Contains("TreePO:Tree:Mode: 'forest' is not a valid SamplingMode (Tree | Sequential)"));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Sampling:TopP: must be in (0, 1]"));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Cluster:Clustering: 'etcd' is not supported"));
        Assert.Contains("TreePO:Tree:Width", e.Message);
    }

    [Fact]
    public void A_renamed_key_is_refused_with_its_new_name()
    {
        var e = Assert.Throws<TreePOOptionsException>(() => Bind(new() { ["TreePO:Engine:MaxContext"] = "512" }));
        Assert.Equal("TreePO:Engine:MaxContext: renamed; use Engine:MaxSequenceLength (--engine.maxsequencelength=VALUE)", Assert.Single(e.Errors));
        Assert.Throws<TreePOOptionsException>(() => TreePOConfiguration.Load(["--engine.maxcontext=512"]));
        Assert.Equal(512, Bind(new() { ["TreePO:Engine:MaxSequenceLength"] = "512" }).Engine.MaxSequenceLength);
    }

    [Fact]
    public void Tree_options_cover_every_user_field_of_the_core_tree_config()
    {
        string[] runtimeOnly = [nameof(TreeConfig.ScheduleStep), nameof(TreeConfig.Sampling)];   // set per step; from Sampling:*
        var config = typeof(TreeConfig).GetProperties().Where(p => p.CanWrite).Select(p => p.Name).Except(runtimeOnly);
        Assert.Equal(config.Order(), typeof(TreeOptions).GetProperties().Select(p => p.Name).Order());
    }

    [Fact]
    public void Tree_and_sampling_keys_map_onto_the_tree_config_and_its_rules_name_the_key()
    {
        var o = Bind(new()
        {
            ["TreePO:Tree:Branching"] = "logprob",
            ["TreePO:Tree:InitDivergenceMax"] = "6",
            ["TreePO:Tree:Fallback"] = "None",
            ["TreePO:Tree:Mode"] = "sequential",
            ["TreePO:Tree:MaxResponseTokens"] = "100",
            ["TreePO:Sampling:TopK"] = "5",
            ["TreePO:Sampling:Temperature"] = "0",
        });
        var c = o.TreeConfig();
        Assert.Equal((BranchingPolicy.LogProb, 6, FallbackPolicy.None, SamplingMode.Sequential, 100),
            (c.Branching, c.InitDivergenceMax, c.Fallback, c.Mode, c.MaxResponseTokens));
        Assert.Equal(new SamplingParams(0, 1, 5), c.Sampling);

        var e = Assert.Throws<TreePOOptionsException>(() => Bind(new()
        {
            ["TreePO:Tree:InitDivergenceMin"] = "5",
            ["TreePO:Tree:InitDivergenceMax"] = "3",
            ["TreePO:Tree:RepetitionCount"] = "1",
            ["TreePO:Engine:Device"] = "tpu",
        }));
        Assert.Equal(3, e.Errors.Count);
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Tree:InitDivergenceMin: InitDivergenceMin (5) must not exceed"));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Tree:RepetitionCount: RepetitionCount must be at least 2"));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Engine:Device: 'tpu'"));
    }

    /// <summary>Engine:DType reaches each engine's options; anything but float32 or bfloat16 is refused by name.</summary>
    [Fact]
    public void The_engine_dtype_is_float32_or_bfloat16()
    {
        var text = TreePO.Grains.Tests.Support.TinyModelFolder.Text(TreePO.Grains.Tests.Support.TinyModelFolder.Options());
        Assert.Equal("float32", Bind([]).Engine.DType);
        Assert.Equal("float32", TreePO.Hosting.Engines.InferenceEngineBackendFactory.EngineOptionsFor(Bind([]), text, "cpu").DType);
        var bf16 = Bind(new() { ["TreePO:Engine:DType"] = "BFloat16" });
        Assert.Equal("bfloat16", TreePO.Hosting.Engines.InferenceEngineBackendFactory.EngineOptionsFor(bf16, text, "cpu").DType);
        var e = Assert.Throws<TreePOOptionsException>(() => Bind(new() { ["TreePO:Engine:DType"] = "float16" }));
        Assert.Equal("TreePO:Engine:DType: 'float16' is not one of float32, bfloat16", Assert.Single(e.Errors));
    }

    [Fact]
    public void The_trainer_device_is_read_as_trainer_device_and_a_malformed_one_is_refused_by_name()
    {
        Assert.Equal("cpu", Bind([]).Trainer.Device);
        var o = TreePOConfiguration.Load(["--trainer.device=cpu"]);
        Assert.Equal("cpu", o.Trainer.Device);
        Assert.Equal("cpu", o.Trainer.ToSettings("treepo").Device);
        // Only the spelling is checked here: the device must exist on the silo that hosts the trainer, not in this process.
        Assert.Equal("cuda:1", TreePOConfiguration.Load(["--trainer.device=cuda:1"]).Trainer.Device);
        var e = Assert.Throws<TreePOOptionsException>(() => TreePOConfiguration.Load(["--trainer.device=banana"]));
        Assert.Equal("TreePO:Trainer:Device must be cpu, cuda or cuda:N (got 'banana')", Assert.Single(e.Errors));
    }

    [Fact]
    public void The_weight_stream_port_is_checked_by_name()
    {
        Assert.Equal(0, Bind(new()).Cluster.WeightStreamPort);   // any free port
        var e = Assert.Throws<TreePOOptionsException>(() => Bind(new() { ["TreePO:Cluster:WeightStreamPort"] = "70000" }));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Cluster:WeightStreamPort: must be 0 (any free port) or a TCP port, got 70000"));
        e = Assert.Throws<TreePOOptionsException>(() => Bind(new() { ["TreePO:Cluster:WeightStreamPort"] = "11111" }));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Cluster:WeightStreamPort: 11111 is already this silo's Cluster:SiloPort"));
        Assert.Equal(12000, Bind(new() { ["TreePO:Cluster:WeightStreamPort"] = "12000" }).Cluster.WeightStreamPort);
    }

    [Fact]
    public void A_missing_model_folder_says_what_to_pass()
    {
        string dir = TreePO.Testing.ScratchFolders.Create("treepo-nomodel").FullName;
        var e = Assert.Throws<ModelFolderException>(() => ModelFolder.Resolve(dir));
        Assert.Contains("lacks config.json, tokenizer.json, model.safetensors", e.Message);
        e = Assert.Throws<ModelFolderException>(() => ModelFolder.Resolve(Path.Combine(dir, "nope")));
        Assert.Contains("--model DIR", e.Message);
    }
}
