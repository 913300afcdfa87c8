using TreePO.Grains.WeightStream;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using TreePO.Engine.Checkpoint;
using TreePO.Engine.Model;
using TreePO.Engine.Native;
using TreePO.Grains.Engines;
using TreePO.Grains.Tests.Support;
using TreePO.Grains.Training;

namespace TreePO.Grains.Tests.Training;

/// <summary>The TCP weight stream alone (no cluster): server, client, and the engine's staging tensors; plain and under TLS.</summary>
public sealed class WeightStreamTests
{
    static (WeightStreamOffer Offer, WeightManifest Manifest) Offer(WeightStreamServer server, WeightSnapshot snap)
    {
        var (endpoint, token) = server.Offer(snap)!.Value;
        return (new WeightStreamOffer(snap.Version, endpoint.Address.ToString(), endpoint.Port, token),
            new WeightManifest(snap.Version, snap.TotalBytes, snap.ChunkBytes, snap.ChunkCount, snap.Header, snap.CaptureSeconds,
                WeightDigest.Of(snap)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]   // untied: lm_head too
    public async Task A_stream_received_straight_into_staging_tensors_swaps_in_bit_exact(bool tied)
    {
        TorchRuntime.EnsureLoaded();
        using var engineModel = Qwen2Model.Random(Qwen2Config.Tiny(tied), 1);
        using var trained = Qwen2Model.Random(Qwen2Config.Tiny(tied), 2);
        var snap = WeightSnapshot.Capture(4, trained.state_dict(), chunkBytes: 777);
        using var server = new WeightStreamServer(IPAddress.Loopback, IPAddress.Loopback, true, NullLogger<WeightStreamServer>.Instance);
        var (offer, manifest) = Offer(server, snap);
        using var staged = StagedWeights.Open(engineModel, 4, snap.Header, snap.TotalBytes);
        await Task.Run(() => WeightStreamClient.RunAsync(offer, manifest, staged, null, CancellationToken.None));
        Assert.True(staged.IsComplete);
        staged.CopyInto(engineModel);
        AssertSameWeights(trained, engineModel);
    }

    [Fact]
    public async Task A_wrong_token_a_wrong_length_or_a_disabled_server_is_refused()
    {
        TorchRuntime.EnsureLoaded();
        using var model = Qwen2Model.Random(Qwen2Config.Tiny(), 1);
        var snap = WeightSnapshot.Capture(0, model.state_dict());
        using var server = new WeightStreamServer(IPAddress.Loopback, IPAddress.Loopback, true, NullLogger<WeightStreamServer>.Instance);
        var (offer, manifest) = Offer(server, snap);
        using var sink = new BufferedWeightSink(0, snap.Header, snap.TotalBytes);
        var forged = offer with { Token = new byte[WeightStreamServer.TokenBytes] };
        Assert.Contains("refused the token", (await Assert.ThrowsAsync<InvalidOperationException>(() => WeightStreamClient.RunAsync(forged, manifest, sink, null, CancellationToken.None))).Message);
        var longer = manifest with { TotalBytes = manifest.TotalBytes + 8 };
        using var sink2 = new BufferedWeightSink(0, snap.Header, longer.TotalBytes);
        Assert.Contains("announces", (await Assert.ThrowsAsync<InvalidDataException>(() => WeightStreamClient.RunAsync(offer, longer, sink2, null, CancellationToken.None))).Message);
        Assert.Equal(0, sink2.ReceivedBytes);

        using var off = new WeightStreamServer(IPAddress.Loopback, IPAddress.Loopback, false, NullLogger<WeightStreamServer>.Instance);
        Assert.Null(off.Offer(snap));
        Assert.Null(off.Endpoint);
    }

    [Fact]
    public void A_configured_port_is_the_one_offered_and_a_taken_one_falls_back_to_chunks()
    {
        TorchRuntime.EnsureLoaded();
        using var model = Qwen2Model.Random(Qwen2Config.Tiny(), 1);
        var snap = WeightSnapshot.Capture(0, model.state_dict());
        var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        try
        {
            using var clash = new WeightStreamServer(IPAddress.Loopback, IPAddress.Loopback, true, NullLogger<WeightStreamServer>.Instance, port);
            Assert.Null(clash.Offer(snap));   // the port is taken: no offer, engines pull Orleans chunks
        }
        finally { probe.Stop(); }
        using var server = new WeightStreamServer(IPAddress.Loopback, IPAddress.Loopback, true, NullLogger<WeightStreamServer>.Instance, port);
        Assert.Equal(port, server.Offer(snap)!.Value.Endpoint.Port);
        Assert.Equal(port, server.Endpoint!.Port);
    }

    static readonly Lazy<X509Certificate2> ClusterCert = new(() => TestCertificates.SelfSigned("treepo-cluster"));
    static readonly Lazy<X509Certificate2> OtherCert = new(() => TestCertificates.SelfSigned("treepo-cluster"));   // same name, another key

    [Fact]
    public async Task A_tls_stream_with_the_cluster_certificate_delivers_bit_exact_weights()
    {
        TorchRuntime.EnsureLoaded();
        using var engineModel = Qwen2Model.Random(Qwen2Config.Tiny(false), 1);
        using var trained = Qwen2Model.Random(Qwen2Config.Tiny(false), 2);
        var snap = WeightSnapshot.Capture(3, trained.state_dict(), chunkBytes: 1000);
        using var server = new WeightStreamServer(IPAddress.Loopback, IPAddress.Loopback, true, NullLogger<WeightStreamServer>.Instance,
            tls: TestCertificates.Cluster(ClusterCert.Value));
        var (offer, manifest) = Offer(server, snap);
        using var staged = StagedWeights.Open(engineModel, 3, snap.Header, snap.TotalBytes);
        var engineTls = TestCertificates.Cluster(ClusterCert.Value);   // the engine's silo loads the same files on its own
        await Task.Run(() => WeightStreamClient.RunAsync(offer, manifest, staged, engineTls, CancellationToken.None));
        Assert.True(staged.IsComplete);
        staged.CopyInto(engineModel);
        AssertSameWeights(trained, engineModel);
    }

    [Fact]
    public async Task Under_tls_a_peer_without_the_cluster_certificate_is_refused_before_any_weight_byte()
    {
        TorchRuntime.EnsureLoaded();
        using var model = Qwen2Model.Random(Qwen2Config.Tiny(), 1);
        var snap = WeightSnapshot.Capture(0, model.state_dict());
        using var server = new WeightStreamServer(IPAddress.Loopback, IPAddress.Loopback, true, NullLogger<WeightStreamServer>.Instance,
            tls: TestCertificates.Cluster(ClusterCert.Value));
        var (offer, manifest) = Offer(server, snap);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        // Another certificate (the stranger trusts any server: the refusal is the server's).
        using var strangerSink = new BufferedWeightSink(0, snap.Header, snap.TotalBytes);
        var stranger = new WeightStreamTls(OtherCert.Value, _ => true);
        await Assert.ThrowsAsync<AuthenticationException>(() => WeightStreamClient.RunAsync(offer, manifest, strangerSink, stranger, timeout.Token));
        Assert.Equal(0, strangerSink.ReceivedBytes);

        // No certificate at all.
        Assert.Equal(0, await BytesReceivedWithoutACertificateAsync(new IPEndPoint(IPAddress.Parse(offer.Host), offer.Port), offer.Token, timeout.Token));

        // No TLS at all: the token arrives as a broken handshake.
        using var plainSink = new BufferedWeightSink(0, snap.Header, snap.TotalBytes);
        await Assert.ThrowsAnyAsync<Exception>(() => WeightStreamClient.RunAsync(offer, manifest, plainSink, null, timeout.Token));
        Assert.Equal(0, plainSink.ReceivedBytes);

        // An engine that does not trust the server's certificate stops in the handshake, before its token leaves.
        using var waryServer = new WeightStreamServer(IPAddress.Loopback, IPAddress.Loopback, true, NullLogger<WeightStreamServer>.Instance,
            tls: TestCertificates.Cluster(OtherCert.Value));
        var (waryOffer, waryManifest) = Offer(waryServer, snap);
        using var warySink = new BufferedWeightSink(0, snap.Header, snap.TotalBytes);
        var wary = await Assert.ThrowsAsync<AuthenticationException>(() =>
            WeightStreamClient.RunAsync(waryOffer, waryManifest, warySink, TestCertificates.Cluster(ClusterCert.Value), timeout.Token));
        Assert.Contains("failed the TLS handshake", wary.Message);
        Assert.Equal(0, warySink.ReceivedBytes);

        // None of them got as far as the token: it still works once, for the cluster's engine.
        using var sink = new BufferedWeightSink(0, snap.Header, snap.TotalBytes);
        await WeightStreamClient.RunAsync(offer, manifest, sink, TestCertificates.Cluster(ClusterCert.Value), timeout.Token);
        Assert.True(sink.IsComplete);
    }

    /// <summary>A TLS client that presents no certificate and trusts any server; sends the token and counts what comes back.</summary>
    static async Task<int> BytesReceivedWithoutACertificateAsync(IPEndPoint endpoint, byte[] token, CancellationToken cancellationToken)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(endpoint, cancellationToken);
        using var ssl = new SslStream(tcp.GetStream());
        int got = 0;
        try
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            }, cancellationToken);
            await ssl.WriteAsync(token, cancellationToken);
            var buffer = new byte[1 << 16];
            for (int n; (n = await ssl.ReadAsync(buffer, cancellationToken)) > 0;) got += n;
        }
        catch (Exception e) when (e is AuthenticationException or IOException) { }
        return got;
    }

    /// <summary>Bit for bit, every parameter.</summary>
    static void AssertSameWeights(Qwen2Model expected, Qwen2Model actual)
    {
        var got = actual.state_dict();
        foreach (var (name, t) in expected.state_dict())
            Assert.True(t.bytes.SequenceEqual(got[name].bytes), $"{name} differs");
    }
}
