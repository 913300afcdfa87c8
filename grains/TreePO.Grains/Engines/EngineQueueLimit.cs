namespace TreePO.Grains.Engines;

/// <summary>The most segment requests an engine grain hands its backend at once (Engine:MaxQueuedRequests; by default
/// four times the engine's batch slots, so a full batch and the next ones are always queued). Requests beyond it wait
/// in the grain, without blocking a thread, until one finishes: the backend's queue, and the KV and memory its
/// queued requests hold, stay bounded however many trees send at once.</summary>
public sealed record EngineQueueLimit(int MaxQueuedRequests)
{
    /// <summary>Slots times this is the default bound.</summary>
    public const int SlotsFactor = 4;

    public static EngineQueueLimit FromSlots(int maxQueuedRequests, int maxSlots) =>
        new(maxQueuedRequests > 0 ? maxQueuedRequests : SlotsFactor * Math.Max(1, maxSlots));
}
