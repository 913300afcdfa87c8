using TreePO.Grains.Engines;
using TreePO.Hosting.Models;
using TreePO.Hosting.Options;

namespace TreePO.Hosting.Engines.Simulation;

/// <summary>Makes a <see cref="SimulatedEngine"/> for each device of this silo (<c>Engine:Simulated</c>): the
/// <c>Engine:*</c> limits, the <c>Engine:Simulation:*</c> cost model and answers, the model folder's tokenizer,
/// context and stop id.</summary>
public sealed class SimulatedEngineFactory(TreePOOptions options, ModelText text) : IEngineBackendFactory
{
    SimulatedScript? script;

    public Task<IEngineBackend> CreateAsync(int device, CancellationToken cancellationToken)
    {
        script ??= new SimulatedScript(s => text.Tokenizer.Encode(s), text.StopIds.Min(), options.Engine.Simulation);
        return Task.FromResult<IEngineBackend>(new SimulatedEngine(SettingsOf(options, text.MaxSequenceLength), script));
    }

    public static SimulatedEngineSettings SettingsOf(TreePOOptions options, int maxContext) => new(
        SimulationCostModel.From(options.Engine.Simulation), options.Engine.MaxSlots, options.Engine.KvBudgetMB << 20,
        options.Engine.Simulation.KvBytesPerToken, options.Engine.PrefillChunk, maxContext);
}
