using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using TreePO.Engine.Checkpoint;
using TreePO.Engine.Model;
using TreePO.Engine.Native;
using TreePO.Grains.Engines;
using TreePO.Grains.Training;

namespace TreePO.Grains.Tests.Training;

/// <summary>The TCP weight stream alone (no cluster): server, client, and the engine's staging tensors.</summary>
public sealed class WeightStreamTests
{
    static (WeightStreamOffer Offer, WeightManifest Manifest) Offer(WeightStreamServer server, WeightSnapshot snap)
    {
        var (endpoint, token) = server.Offer(snap)!.Value;
        return (new WeightStreamOffer(snap.Version, endpoint.Address.ToString(), endpoint.Port, token),
            new WeightManifest(snap.Version, snap.TotalBytes, snap.ChunkBytes, snap.ChunkCount, snap.Header, snap.CaptureSeconds));
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
        await Task.Run(() => WeightStreamClient.RunAsync(offer, manifest, staged, CancellationToken.None));
        Assert.True(staged.IsComplete);
        staged.CopyInto(engineModel);
        var got = engineModel.state_dict();
        foreach (var (name, t) in trained.state_dict())
            Assert.True(t.bytes.SequenceEqual(got[name].bytes), $"{name} differs");
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
        Assert.Contains("refused the token", (await Assert.ThrowsAsync<InvalidOperationException>(() => WeightStreamClient.RunAsync(forged, manifest, sink, CancellationToken.None))).Message);
        var longer = manifest with { TotalBytes = manifest.TotalBytes + 8 };
        using var sink2 = new BufferedWeightSink(0, snap.Header, longer.TotalBytes);
        Assert.Contains("announces", (await Assert.ThrowsAsync<InvalidDataException>(() => WeightStreamClient.RunAsync(offer, longer, sink2, CancellationToken.None))).Message);
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
}
