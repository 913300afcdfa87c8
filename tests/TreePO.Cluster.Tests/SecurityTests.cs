using TreePO.Testing;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using TreePO.Cluster.Tests.Support;
using TreePO.Hosting.Options;

namespace TreePO.Cluster.Tests;

/// <summary>Security defaults: silo and gateway listen on loopback unless told otherwise; with TLS on, only a
/// process holding the cluster certificate joins.</summary>
public sealed class SecurityTests
{
    static TreePOOptions Options(int siloPort, int gatewayPort, Action<TreePO.Hosting.Options.ClusterOptions>? cluster = null)
    {
        var o = new TreePOOptions();
        o.Cluster.SiloPort = o.Cluster.PrimarySiloPort = siloPort;
        o.Cluster.GatewayPort = gatewayPort;
        o.Cluster.ClusterId = "sec-" + Guid.NewGuid().ToString("N")[..8];
        cluster?.Invoke(o.Cluster);
        return o;
    }

    [Fact]
    public void Redis_clustering_listens_and_advertises_on_loopback_unless_configured()
    {
        var o = Options(11111, 30000, c => { c.Clustering = "redis"; });
        using (var silo = InProcessHosts.BuildSilo(o))
        {
            var e = silo.Services.GetRequiredService<IOptions<EndpointOptions>>().Value;
            Assert.Equal(IPAddress.Loopback, e.AdvertisedIPAddress);
            Assert.Equal(new IPEndPoint(IPAddress.Loopback, 11111), e.SiloListeningEndpoint);
            Assert.Equal(new IPEndPoint(IPAddress.Loopback, 30000), e.GatewayListeningEndpoint);
        }
        o.Cluster.AdvertisedAddress = "10.1.2.3";
        o.Cluster.ListenAddress = "0.0.0.0";
        using (var silo = InProcessHosts.BuildSilo(o))
        {
            var e = silo.Services.GetRequiredService<IOptions<EndpointOptions>>().Value;
            Assert.Equal(IPAddress.Parse("10.1.2.3"), e.AdvertisedIPAddress);
            Assert.Equal(new IPEndPoint(IPAddress.Any, 30000), e.GatewayListeningEndpoint);
        }
    }

    [Fact]
    public async Task A_running_redis_silo_cannot_be_reached_on_another_interface()
    {
        using var redis = await RedisServer.StartAsync();
        int[] ports = FreePorts.Take(2);
        var o = Options(ports[0], ports[1], c => { c.Clustering = "redis"; c.Redis = redis.Connection; });
        var silo = await InProcessHosts.StartSiloAsync(o);
        try
        {
            Assert.True(await CanConnectAsync(IPAddress.Loopback, ports[1]), "the gateway does not answer on loopback");
            foreach (var address in OtherAddresses())   // none on an isolated machine: loopback is all there is then
            {
                Assert.False(await CanConnectAsync(address, ports[1]), $"the gateway answers on {address}");
                Assert.False(await CanConnectAsync(address, ports[0]), $"the silo port answers on {address}");
            }
        }
        finally { await InProcessHosts.StopAsync(silo); }
    }

    /// <summary>The Redis password never reaches a message: the "running on" line and summary.json (Describe) or a
    /// validation error, whether the connection string parses or not.</summary>
    [Fact]
    public void The_redis_password_is_redacted_everywhere_it_is_shown()
    {
        const string Secret = "s3cret-pw";
        var o = Options(11111, 30000, c => { c.Clustering = "redis"; c.Redis = $"127.0.0.1:6390,password={Secret}"; });
        string described = TreePO.Hosting.Clustering.ClientClustering.Describe(o.Cluster);
        Assert.Contains("127.0.0.1:6390", described);
        Assert.DoesNotContain(Secret, described);

        foreach (string bad in new[] { $"password={Secret}", $"127.0.0.1:6390,password={Secret},nosuchkey=1" })
        {
            var e = Assert.Throws<TreePOOptionsException>(() => TreePOConfiguration.Load(["--cluster.clustering=redis", $"--cluster.redis={bad}"]));
            var redis = Assert.Single(e.Errors, x => x.StartsWith("TreePO:Cluster:Redis:"));
            Assert.DoesNotContain(Secret, redis);
            Assert.Contains("password=***", redis);
        }
    }

    [Fact]
    public void Cluster_keys_are_checked_by_name()
    {
        var e = Assert.Throws<TreePOOptionsException>(() => TreePOConfiguration.Load([
            "--cluster.clustering=redis", "--cluster.redis=", "--cluster.advertisedAddress=not-an-ip",
            "--cluster.tls.enabled=true"]));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Cluster:Redis: must not be empty"));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Cluster:AdvertisedAddress: 'not-an-ip' is not an IP address"));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Cluster:Tls:CertificatePath: is required"));
        var local = Assert.Throws<TreePOOptionsException>(() => TreePOConfiguration.Load(["--cluster.listenAddress=0.0.0.0"]));
        Assert.Contains(local.Errors, x => x.StartsWith("TreePO:Cluster:ListenAddress: localhost clustering is loopback only"));
    }

    [Fact]
    public async Task With_tls_only_a_client_holding_the_cluster_certificate_joins()
    {
        string dir = TreePO.Testing.ScratchFolders.Create("treepo-tls-").FullName;
        try
        {
            string cluster = await MakeCertAsync(dir, "treepo-cluster"), stranger = await MakeCertAsync(dir, "stranger");
            int[] ports = FreePorts.Take(2);
            void Tls(TreePO.Hosting.Options.ClusterOptions c, string cert) { c.Tls.Enabled = true; c.Tls.CertificatePath = cert; }
            var silo = await InProcessHosts.StartSiloAsync(Options(ports[0], ports[1], c => Tls(c, cluster)));
            try
            {
                var o = Options(ports[0], ports[1], c => Tls(c, cluster));
                o.Cluster.ClusterId = ClusterIdOf(silo);
                await InProcessHosts.StopAsync(await InProcessHosts.StartClientAsync(o, TimeSpan.FromSeconds(60)));

                var plain = Options(ports[0], ports[1]);
                plain.Cluster.ClusterId = o.Cluster.ClusterId;
                // Refused clients never get through the handshake; Orleans keeps trying until the deadline.
                await Assert.ThrowsAnyAsync<Exception>(() => InProcessHosts.StartClientAsync(plain, Refused));

                var other = Options(ports[0], ports[1], c => Tls(c, stranger));
                other.Cluster.ClusterId = o.Cluster.ClusterId;
                await Assert.ThrowsAnyAsync<Exception>(() => InProcessHosts.StartClientAsync(other, Refused));
            }
            finally { await InProcessHosts.StopAsync(silo); }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    static readonly TimeSpan Refused = TimeSpan.FromSeconds(8);

    static string ClusterIdOf(Microsoft.Extensions.Hosting.IHost silo) =>
        silo.Services.GetRequiredService<IOptions<Orleans.Configuration.ClusterOptions>>().Value.ClusterId;

    static async Task<string> MakeCertAsync(string dir, string name)
    {
        using var script = ChildProcess.Start("make-dev-cert.sh", "bash", [Repo.Script("make-dev-cert.sh"), dir, name]);
        Assert.True(await script.WaitForExitAsync(TimeSpan.FromSeconds(60)) == 0, script.Output);
        return Path.Combine(dir, name + ".pfx");
    }

    static async Task<bool> CanConnectAsync(IPAddress address, int port)
    {
        using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        try { await socket.ConnectAsync(address, port, cts.Token); return true; }
        catch (Exception e) when (e is SocketException or OperationCanceledException) { return false; }
    }

    static IEnumerable<IPAddress> OtherAddresses() => NetworkInterface.GetAllNetworkInterfaces()
        .Where(n => n.OperationalStatus == OperationalStatus.Up)
        .SelectMany(n => n.GetIPProperties().UnicastAddresses).Select(a => a.Address)
        .Where(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
}
