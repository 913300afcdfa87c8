using Orleans.TestingHost;
using TreePO.Grains.Diagnostics;
using TreePO.Grains.Placement;
using TreePO.Hosting;

namespace TreePO.Grains.Tests.Diagnostics;

public sealed class SiloInfoGrainTests
{
    [Fact]
    public async Task Each_silo_of_a_two_silo_cluster_answers_on_itself()
    {
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((_, silo) => silo.AddTreePO());
        await using var cluster = builder.Build();
        await cluster.DeployAsync();

        Assert.Equal(2, cluster.Silos.Count);
        foreach (var silo in cluster.Silos)
        {
            var report = await cluster.Client.GetGrain<ISiloInfoGrain>(SiloKey.For(silo.SiloAddress)).GetReportAsync();
            Assert.Equal(silo.SiloAddress.ToParsableString(), report.Silo);
            Assert.Contains("cpu", report.Devices);
            Assert.True(report.TorchThreads >= 1);
        }
    }

    [Fact]
    public async Task A_key_naming_no_active_silo_fails_at_once()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) => silo.AddTreePO());
        await using var cluster = builder.Build();
        await cluster.DeployAsync();

        string ghost = cluster.Silos[0].SiloAddress.ToParsableString().Replace("@", "@1");
        var e = await Assert.ThrowsAnyAsync<Exception>(
            () => cluster.Client.GetGrain<ISiloInfoGrain>(ghost).GetReportAsync());
        Assert.Contains("not active", e.ToString());
    }
}
