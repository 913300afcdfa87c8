namespace TreePO.Grains.Engines;

/// <summary>How an engine pulls weights. "socket": one plain TCP stream from the trainer's silo (handshake through
/// Orleans), read straight into staging buffers, then copied into the parameters in place. "chunks": the trainer's
/// prepared chunks through Orleans, <paramref name="Window"/> pulls in flight, into the same staging. "auto" (the
/// default): a plain copy from the trainer's snapshot when the trainer lives in the engine's own silo ("local";
/// <paramref name="AllowLocal"/>), else socket when the trainer offers one, chunks otherwise. <paramref name="Relay"/>:
/// the engine's place in a fan-out tree; it reads from its parent engine first ("relay"), and from the trainer as
/// above when that fails.</summary>
[GenerateSerializer, Immutable, Alias("treepo.weight-sync-options")]
public sealed record WeightSyncOptions(
    [property: Id(0)] bool Force = false,
    [property: Id(1)] string Path = WeightSyncOptions.Auto,
    [property: Id(2)] int Window = 4,
    [property: Id(3)] bool AllowLocal = true,
    [property: Id(4)] WeightRelayPlan? Relay = null)
{
    public const string Relayed = "relay";
    public const string Local = "local";
    public const string Auto = "auto";
    public const string Socket = "socket";
    public const string Chunks = "chunks";
}

/// <summary>One sync's phases, measured on the engine's side: <paramref name="ManifestSeconds"/> the handshake and
/// staging allocation; <paramref name="TransferSeconds"/> from the first chunk request to the last chunk placed (the
/// copies into staging included); <paramref name="StageSeconds"/> the time spent copying bytes into staging
/// (bytes-to-tensors, summed over pulls, overlapping the transfer); <paramref name="SwapSeconds"/> the swap into the
/// engine. <paramref name="Skipped"/>: the engine
/// already held the version.</summary>
[GenerateSerializer, Immutable, Alias("treepo.weight-sync-report")]
public sealed record WeightSyncReport(
    [property: Id(0)] string Engine,
    [property: Id(1)] int Version,
    [property: Id(2)] string Path,
    [property: Id(3)] long Bytes,
    [property: Id(4)] int Chunks,
    [property: Id(5)] double ManifestSeconds,
    [property: Id(6)] double TransferSeconds,
    [property: Id(7)] double StageSeconds,
    [property: Id(8)] double SwapSeconds,
    [property: Id(9)] double TotalSeconds,
    [property: Id(10)] double TrainerCaptureSeconds,
    [property: Id(11)] bool Skipped = false);
