using Microsoft.Extensions.Logging;
using TreePO.Engine.Checkpoint;
using TreePO.Grains.Training;
using TreePO.Grains.WeightStream;

namespace TreePO.Grains.Engines;

/// <summary>
/// How one engine receives a weight version, kept out of its grain: the paths in order of preference (its parent's
/// relay in a fan-out tree, the trainer in this silo, the trainer's socket stream, the trainer's chunks through
/// Orleans), the fallbacks between them, and the relay this engine serves its own children while it receives.
/// </summary>
/// <param name="askParent">Asks the parent engine for an offer of its relay (a grain call: the grain makes it).</param>
internal sealed class EngineWeightReceiver(string key, ILogger log, WeightStreamServer? server,
    Func<string, string, string, int, long, Task<WeightStreamOffer?>> askParent)
{
    /// <summary>Manifest, then the bytes straight into the backend's staging (one TCP stream from the trainer's silo,
    /// or the trainer's chunks through Orleans <see cref="WeightSyncOptions.Window"/> at a time), then the swap. A
    /// failure anywhere leaves the engine on its old weights. Under "auto", a stream that cannot be had or breaks off
    /// (unreachable, failed handshake, silent peer, cut connection, bytes that fail the hash) is not the end of the
    /// sync: the chunks are pulled afresh through Orleans. In a fan-out tree (<see cref="WeightSyncOptions.Relay"/>)
    /// the parent engine's stream comes first, and a failed one is followed by the trainer's; an engine with children
    /// passes what it receives on through its <see cref="WeightRelay"/> as it arrives.</summary>
    public async Task<WeightSyncReport> PullAsync(IEngineBackend engine, string trainer, ITrainerGrain source, int version,
        WeightSyncOptions options, CancellationToken ct)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var manifest = await source.GetWeightManifestAsync(version);
        if (manifest.Version != version) throw new InvalidOperationException($"asked for version {version}, the trainer's manifest is for {manifest.Version}");
        var plan = options.Relay;
        var relay = plan is { Children: > 0 } && server is not null ? RelayFor(plan.Round, version, manifest.TotalBytes) : null;
        relay?.Expect(plan!.Children);
        WeightSink? sink = null;
        try
        {
            string? path = null;
            WeightStreamOffer? upstream = plan?.From is { } parent && options.Path is WeightSyncOptions.Auto or WeightSyncOptions.Socket
                ? await askParent(parent, plan.Round, trainer, version, manifest.TotalBytes) : null;
            double handshake = clock.Elapsed.TotalSeconds;
            if (upstream is not null)
            {
                sink = Relayed(await engine.BeginWeightsAsync(version, manifest.Header, manifest.TotalBytes, ct), relay);
                try
                {
                    await StreamAsync(upstream, manifest, sink, server, ct);
                    path = WeightSyncOptions.Relayed;
                }
                catch (Exception e) when (IsStreamFailure(e) && !ct.IsCancellationRequested)
                {
                    log.LogWarning("engine {Engine}: the relay from engine {Parent} failed after {Bytes} bytes ({Error}); pulling from the trainer",
                        key, plan!.From, sink.ReceivedBytes, e.Message);
                    sink.Dispose();
                    sink = null;
                }
            }
            if (path is null)
            {
                var offer = options.Path is WeightSyncOptions.Auto or WeightSyncOptions.Socket ? await source.OfferWeightStreamAsync(version) : null;
                if (offer is null && options.Path == WeightSyncOptions.Socket)
                    throw new InvalidOperationException("the trainer's silo offers no weight stream (the server is off, or could not listen); use the chunks path");
                // The trainer in this very silo: its token redeems here, and the bytes are a memory copy away.
                var local = offer is not null && options.Path == WeightSyncOptions.Auto && options.AllowLocal ? server?.RedeemLocal(offer.Token) : null;
                if (local is not null || offer is not null)
                    sink = Relayed(await engine.BeginWeightsAsync(version, manifest.Header, manifest.TotalBytes, ct), relay);
                if (upstream is null) handshake = clock.Elapsed.TotalSeconds;
                if (local is not null)
                {
                    var s = sink!;
                    await Task.Run(() =>
                    {
                        if (s is RelayedWeightSink)   // a relay takes its bytes in order
                            for (int i = 0; i < local.ChunkCount; i++) s.Write((long)i * local.ChunkBytes, local.Chunk(i));
                        else
                            Parallel.For(0, local.ChunkCount, new ParallelOptions { CancellationToken = ct }, i => s.Write((long)i * local.ChunkBytes, local.Chunk(i)));
                    }, ct);
                    path = WeightSyncOptions.Local;
                }
                else if (offer is not null)
                {
                    try
                    {
                        await StreamAsync(offer, manifest, sink!, server, ct);
                        path = WeightSyncOptions.Socket;
                    }
                    catch (Exception e) when (IsStreamFailure(e) && options.Path == WeightSyncOptions.Auto && !ct.IsCancellationRequested)
                    {
                        log.LogWarning("engine {Engine}: the weight stream from {Host}:{Port} failed after {Bytes} bytes ({Error}); pulling chunks",
                            key, offer.Host, offer.Port, sink!.ReceivedBytes, e.Message);
                        // Pieces already placed would count twice: start from a fresh staging.
                        sink.Dispose();
                        sink = null;
                    }
                }
                if (path is null)
                {
                    // Chunks arrive in any order: no relay; this engine's children pull from the trainer.
                    relay?.Fail(new IOException($"engine {key} pulls Orleans chunks"));
                    sink?.Dispose();
                    sink = null;
                    sink = await engine.BeginWeightsAsync(version, manifest.Header, manifest.TotalBytes, ct);
                    await WeightPull.RunAsync(source, manifest, sink, options.Window, ct);
                    path = WeightSyncOptions.Chunks;
                }
            }
            double transfer = clock.Elapsed.TotalSeconds - handshake;
            var own = sink is RelayedWeightSink relayed ? relayed.Inner : sink!;
            await engine.CommitWeightsAsync(own, ct);   // swaps between steps, drops all KV
            double total = clock.Elapsed.TotalSeconds;
            return new WeightSyncReport(key, version, path, manifest.TotalBytes, path == WeightSyncOptions.Chunks ? manifest.ChunkCount : 1, handshake, transfer,
                own.WriteTime.TotalSeconds, total - handshake - transfer, total, manifest.CaptureSeconds);
        }
        catch (Exception e)
        {
            relay?.Fail(e);
            throw;
        }
        finally { sink?.Dispose(); }
    }

    static WeightSink Relayed(WeightSink sink, WeightRelay? relay) => relay is null ? sink : new RelayedWeightSink(sink, relay);

    static Task StreamAsync(WeightStreamOffer offer, WeightManifest manifest, WeightSink sink, WeightStreamServer? server, CancellationToken ct)
    {
        var tls = server?.Tls;   // the cluster's certificate, under TLS
        var stall = server?.StallTimeout;
        return Task.Run(() => WeightStreamClient.RunAsync(offer, manifest, sink, tls, ct, stall), ct);   // off the grain's turn: only the sink and the socket
    }

    /// <summary>An offer of this engine's relay of fan-out round <paramref name="round"/> to a child; null when it
    /// relays nothing of that round.</summary>
    public WeightStreamOffer? OfferRelay(string round, int version, long totalBytes)
    {
        var r = server is null ? null : RelayFor(round, version, totalBytes);
        var offer = r is null ? null : server!.OfferRelay(r);
        return offer is var (endpoint, token) ? new WeightStreamOffer(version, endpoint.Address.ToString(), endpoint.Port, token) : null;
    }

    /// <summary>The relay of fan-out round <paramref name="round"/>, made by whichever comes first, the engine's own
    /// sync or a child asking for it; null for a round this engine does not relay (it held the version already, or
    /// the child's manifest differs).</summary>
    WeightRelay? RelayFor(string round, int version, long totalBytes)
    {
        if (round == refusedRound) return null;
        if (relay?.Round == round) return relay.Version == version && relay.TotalBytes == totalBytes ? relay : null;
        relay?.Fail(new IOException($"engine {key} moved on to fan-out round {round}"));
        relay = new WeightRelay(round, version, totalBytes, server?.StallTimeout ?? WeightStreamServer.DefaultStallTimeout);
        return relay;
    }

    public void RefuseRelay(string round, string why)
    {
        if (relay?.Round == round) relay.Fail(new IOException(why));
        refusedRound = round;
    }

    // The relay of the latest fan-out round this engine took part in (kept until the next: a child may still read it).
    WeightRelay? relay;
    string? refusedRound;

    /// <summary>The stream broke, as opposed to the pull being cancelled: worth trying the chunks instead.</summary>
    static bool IsStreamFailure(Exception e) => e is System.Net.Sockets.SocketException or System.Security.Authentication.AuthenticationException
        or IOException or TimeoutException or InvalidDataException or InvalidOperationException;
}
