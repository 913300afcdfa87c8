using TreePO.Engine.Checkpoint;

namespace TreePO.Grains.WeightStream;

/// <summary>An engine's own sink whose every placed byte also goes to the <see cref="WeightRelay"/> it re-serves to
/// its children (in order, as the stream delivers them). The engine commits <see cref="Inner"/>.</summary>
public sealed class RelayedWeightSink(WeightSink inner, WeightRelay relay) : WeightSink(inner.Version, inner.Header, inner.TotalBytes)
{
    public WeightSink Inner => inner;

    public WeightRelay Relay => relay;

    protected override void Place(long offset, ReadOnlySpan<byte> bytes)
    {
        inner.Write(offset, bytes);   // the engine's own copy first: a failure there is not forwarded
        relay.Push(offset, bytes);
    }

    public override void Dispose() => inner.Dispose();
}
