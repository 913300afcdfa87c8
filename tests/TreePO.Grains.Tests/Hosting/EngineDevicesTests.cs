using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using TreePO.Grains.Engines;
using TreePO.Grains.Placement;
using TorchSharp;
using TreePO.Engine.Native;
using TreePO.Grains.Routing;
using TreePO.Hosting.Engines;
using TreePO.Hosting.Options;
using TreePO.Grains.Tests.Support;
using TreePO.Testing;

namespace TreePO.Grains.Tests.Hosting;

/// <summary>`Engine:Devices` as a count or a list of devices: what each form gives, and what is refused.</summary>
public sealed class EngineDevicesTests
{
    static TreePOOptions Bind(params string[] overrides) =>
        TreePOConfiguration.Bind(new ConfigurationBuilder().AddInMemoryCollection(TreePOConfiguration.SplitOverrides(overrides).Overrides).Build());

    [Fact]
    public void A_count_gives_that_many_engines_on_the_device_rule()
    {
        var cpu = EngineDevices.Of(Bind("--engine.devices=3", "--engine.device=cpu").Engine);
        Assert.Equal(3, cpu.Count);
        Assert.Equal(["cpu", "cpu", "cpu"], cpu.Names);
        var cuda = EngineDevices.Of(Bind("--engine.devices=2", "--engine.device=cuda").Engine);
        Assert.Equal(["cuda:0", "cuda:1"], cuda.Names);
        Assert.Equal(0, EngineDevices.Of(Bind("--engine.devices=0").Engine).Count);
    }

    [Fact]
    public void Auto_falls_back_to_the_cpu_where_the_process_sees_no_gpu()
    {
        TorchRuntime.EnsureLoaded();
        var devices = EngineDevices.Of(Bind("--engine.devices=2").Engine);
        int gpus = torch.cuda.is_available() ? torch.cuda.device_count() : 0;
        Assert.Equal(Enumerable.Range(0, 2).Select(i => i < gpus ? $"cuda:{i}" : "cpu"), devices.Names);
    }

    [Fact]
    public void A_list_gives_one_engine_per_named_device()
    {
        var devices = EngineDevices.Of(Bind("--engine.devices=cpu, CUDA:1,cpu").Engine);
        Assert.Equal(["cpu", "cuda:1", "cpu"], devices.Names);
        Assert.Throws<ArgumentOutOfRangeException>(() => devices.NameOf(3));
    }

    [Theory]
    [InlineData("gpu", "'gpu' is not a device")]
    [InlineData("cuda:x", "'cuda:x' is not a device")]
    [InlineData("cpu,,cpu", "'' is not a device")]
    [InlineData("-1", "is not a count")]
    [InlineData("", "is not a count")]
    public void A_malformed_value_is_refused_naming_the_key(string value, string why)
    {
        var e = Assert.Throws<TreePOOptionsException>(() => Bind($"--engine.devices={value}"));
        string error = Assert.Single(e.Errors);
        Assert.StartsWith("TreePO:Engine:Devices:", error);
        Assert.Contains(why, error);
    }

    [Fact]
    public void A_list_with_a_device_rule_is_refused()
    {
        var e = Assert.Throws<TreePOOptionsException>(() => Bind("--engine.devices=cuda:0", "--engine.device=cpu"));
        Assert.Contains("Engine:Device='cpu' does not apply", Assert.Single(e.Errors));
    }

    [Fact]
    public void Listing_cuda_where_no_gpu_is_seen_fails_naming_the_key()
    {
        TorchRuntime.EnsureLoaded();
        if (torch.cuda.is_available()) return;   // this checks the CPU-only process
        var e = Assert.Throws<ArgumentException>(() => EngineDevices.Of(Bind("--engine.devices=cuda").Engine));
        Assert.Contains("Engine:Devices lists 'cuda', but this process sees no CUDA device", e.Message);
    }

    [Fact]
    public async Task A_silo_publishes_one_engine_per_listed_device()
    {
        var (cluster, _) = await TestClusters.StartAsync(1, o => o.Engine.Devices = "cpu,cpu,cpu");
        await using var _c = cluster;
        var silo = cluster.Silos[0];
        await Eventually.TrueAsync(() => silo.ServiceProvider.GetRequiredService<EngineDirectory>().GetEngines().Count == 3,
            TimeSpan.FromSeconds(30), "the silo publishes three engines");
        await cluster.Client.GetGrain<IEngineGrain>(SiloKey.For(silo.SiloAddress, 2)).GetStatsAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => cluster.Client.GetGrain<IEngineGrain>(SiloKey.For(silo.SiloAddress, 3)).GetStatsAsync());
    }
}
