using TreePO.Engine;
using TreePO.Grains.Engines;
using TreePO.Hosting.Models;
using TreePO.Hosting.Options;

namespace TreePO.Hosting.Engines;

/// <summary>
/// Loads the configured model (<c>Model:Path</c>) into an <see cref="InferenceEngine"/> for each device of this silo,
/// with the <c>Engine:*</c> options and the stop ids of <see cref="ModelText"/>, so an engine ends a reply exactly
/// where the trees expect (chat prompts stop at &lt;|im_end|&gt; even when config.json lists only &lt;|endoftext|&gt;).
/// </summary>
public sealed class InferenceEngineBackendFactory(TreePOOptions options, ModelText text, EngineDevices devices) : IEngineBackendFactory
{
    public async Task<IEngineBackend> CreateAsync(int device, CancellationToken cancellationToken)
    {
        // Loading the native library and the weights takes seconds: off the grain's scheduler.
        var engine = await Task.Run(() => InferenceEngine.Load(EngineOptionsFor(options, text, devices.NameOf(device))), cancellationToken);
        return new InferenceEngineBackend(engine);
    }

    /// <summary>The options of an engine on the first device <c>Engine:Devices</c> names (the CPU when it names none):
    /// the engine a command or benchmark runs in its own process.</summary>
    public static EngineOptions EngineOptionsFor(TreePOOptions options, ModelText text) =>
        EngineOptionsFor(options, text, EngineDevices.Of(options.Engine) is { Count: > 0 } d ? d.NameOf(0) : "cpu");

    /// <summary>The engine options of device <paramref name="device"/> ("cpu", "cuda:1"): shared with the benchmark's
    /// direct engine so both paths serve the same model the same way.</summary>
    public static EngineOptions EngineOptionsFor(TreePOOptions options, ModelText text, string device)
    {
        var e = options.Engine;
        return new EngineOptions
        {
            ModelPath = text.Folder,
            KvBudgetBytes = e.KvBudgetMB << 20,
            MaxSlots = e.MaxSlots,
            PrefillChunk = e.PrefillChunk,
            Threads = e.Threads,
            Device = device,
            DType = e.DType.ToLowerInvariant(),
            MaxSequenceLength = text.MaxSequenceLength,
            EosTokenIds = [.. text.StopIds.Order()],
        };
    }
}
