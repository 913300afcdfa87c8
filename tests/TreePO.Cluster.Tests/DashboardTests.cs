using TreePO.Testing;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using TreePO.Cluster.Tests.Support;
using static TreePO.Cluster.Tests.Support.Listening;
using TreePO.Hosting;
using TreePO.Hosting.Clustering;
using TreePO.Hosting.Options;

namespace TreePO.Cluster.Tests;

/// <summary>The Orleans Dashboard is opt-in (Cluster:Dashboard:Enabled) and listens on loopback: real silo processes
/// with and without it, the embedded silo, and the option checks.</summary>
public sealed class DashboardTests
{
    [Fact]
    public async Task Only_a_silo_that_enables_the_dashboard_serves_it_and_only_on_loopback()
    {
        int[] ports = FreePorts.Take(6);
        int dashboardPort = ports[4], unusedPort = ports[5];
        // Two independent localhost clusters, started together to save a start-up.
        using var on = StartSilo("silo-dashboard", ports[0], ports[1],
            "--cluster.dashboard.enabled=true", $"--cluster.dashboard.port={dashboardPort}");
        using var off = StartSilo("silo-plain", ports[2], ports[3], $"--cluster.dashboard.port={unusedPort}");
        await on.WaitForOutputAsync($"Orleans Dashboard at http://127.0.0.1:{dashboardPort}/dashboard/", TimeSpan.FromSeconds(90));
        await off.WaitForOutputAsync("Application started", TimeSpan.FromSeconds(90));

        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };
        string root = $"http://127.0.0.1:{dashboardPort}";
        using (var page = await http.GetAsync($"{root}/dashboard/"))
        {
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
            Assert.Contains("<title>Orleans Dashboard</title>", await page.Content.ReadAsStringAsync());
        }
        using (var redirect = await http.GetAsync($"{root}/"))
        {
            Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
            Assert.Equal("/dashboard/", redirect.Headers.Location?.OriginalString);
        }
        // The page talks to this silo: its counters list the one host of the cluster, at this silo's port (the
        // dashboard grain computes them at most once a second, so the first answers may have none yet).
        var hosts = await HostsAsync(http, $"{root}/dashboard/DashboardCounters");
        Assert.Equal([$"127.0.0.1:{ports[0]}"], hosts.Select(h => h[..h.IndexOf('@')]));

        // Bound to 127.0.0.1 itself: the kernel lists that one listener, and another loopback address is refused
        // (a listener on 0.0.0.0 or [::] would accept 127.0.0.2 too).
        Assert.Equal([$"127.0.0.1:{dashboardPort}"], ListeningEndpoints(on.Id).Where(e => e.EndsWith($":{dashboardPort}")));
        Assert.False(await CanConnectAsync(IPAddress.Parse("127.0.0.2"), dashboardPort), "the dashboard answers on 127.0.0.2");

        // Without the option: no HTTP server at all. The process listens on its silo and gateway ports, nothing else.
        Assert.False(await CanConnectAsync(IPAddress.Loopback, unusedPort), "a silo without the dashboard listens on its port");
        Assert.Equal(new[] { $"127.0.0.1:{ports[2]}", $"127.0.0.1:{ports[3]}" }.Order(), ListeningEndpoints(off.Id).Order());
        Assert.DoesNotContain("Now listening on", off.Output);
        Assert.False(on.HasExited || off.HasExited, $"a silo stopped:\n{on.Tail()}\n{off.Tail()}");
    }

    [Fact]
    public async Task The_embedded_silo_serves_the_dashboard_when_enabled()
    {
        var options = new TreePOOptions { Model = { Path = Repo.BuiltinModel } };
        options.Cluster.Dashboard.Enabled = true;
        options.Cluster.Dashboard.Port = FreePorts.Take(1)[0];
        await using var silo = await EmbeddedSilo.StartAsync(options);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var page = await http.GetAsync(DashboardHosting.Url(options.Cluster.Dashboard));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<title>Orleans Dashboard</title>", await page.Content.ReadAsStringAsync());
    }

    [Fact]
    public void A_silo_without_the_dashboard_has_no_http_server()
    {
        // Built as silo/Program.cs builds it; the dashboard's grains are not offered either, so a cluster where
        // another silo serves the dashboard never places its grain here, away from the services it needs.
        var options = new TreePOOptions();
        using var plain = BuildSilo(options);
        Assert.Null(plain.Services.GetService<IServer>());
        Assert.DoesNotContain(GrainClasses(plain), c => c.Assembly == DashboardAssembly);

        options.Cluster.Dashboard.Enabled = true;
        using var web = BuildSilo(options);
        Assert.NotNull(web.Services.GetService<IServer>());
        Assert.Contains(GrainClasses(web), c => c.Assembly == DashboardAssembly);
    }

    [Fact]
    public void Dashboard_keys_are_checked_by_name()
    {
        var e = Assert.Throws<TreePOOptionsException>(() => TreePOConfiguration.Load([
            "--cluster.dashboard.port=70000", "--cluster.dashboard.address=localhost"]));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Cluster:Dashboard:Port: must be a TCP port, got 70000"));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Cluster:Dashboard:Address: 'localhost' is not an IP address"));
        var clash = Assert.Throws<TreePOOptionsException>(() => TreePOConfiguration.Load([
            "--cluster.dashboard.enabled=true", "--cluster.dashboard.port=30000"]));
        Assert.Contains(clash.Errors, x => x.StartsWith("TreePO:Cluster:Dashboard:Port: 30000 is already this silo's Cluster:GatewayPort"));
        // Off by default, on loopback when on; another address only when asked for.
        var d = TreePOConfiguration.Load([]).Cluster.Dashboard;
        Assert.False(d.Enabled);
        Assert.Equal(("127.0.0.1", 8080), (d.Address, d.Port));
        Assert.Equal("0.0.0.0", TreePOConfiguration.Load(["--cluster.dashboard.address=0.0.0.0"]).Cluster.Dashboard.Address);
    }

    static readonly System.Reflection.Assembly DashboardAssembly = typeof(Orleans.Dashboard.DashboardOptions).Assembly;

    static IHost BuildSilo(TreePOOptions options)
    {
        var builder = DashboardHosting.CreateBuilder(options);
        builder.UseOrleans(silo =>
        {
            silo.UseTreePOClustering(options);
            silo.AddTreePO(options);
            DashboardHosting.AddDashboard(silo, options);
        });
        return DashboardHosting.Build(builder, options);
    }

    static HashSet<Type> GrainClasses(IHost silo) => silo.Services.GetRequiredService<IOptions<GrainTypeOptions>>().Value.Classes;

    static async Task<List<string>> HostsAsync(HttpClient http, string url)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            using var counters = JsonDocument.Parse(await http.GetStringAsync(url));
            var hosts = counters.RootElement.GetProperty("hosts").EnumerateArray()
                .Select(h => h.GetProperty("siloAddress").GetString()!).ToList();
            if (hosts.Count > 0 || DateTime.UtcNow > deadline) return hosts;
            await Task.Delay(250);
        }
    }

    static ChildProcess StartSilo(string name, int siloPort, int gatewayPort, params string[] overrides) =>
        ChildProcess.Dotnet(name, Repo.SiloDll,
        [
            $"--cluster.siloPort={siloPort}", $"--cluster.primarySiloPort={siloPort}", $"--cluster.gatewayPort={gatewayPort}",
            "--cluster.clusterId=dash-" + Guid.NewGuid().ToString("N")[..8], $"--model.path={Repo.BuiltinModel}",
            "--engine.threads=1", .. overrides,
        ]);
}
