using TreePO.Grains.WeightStream;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;
using TreePO.Grains.Draining;
using TreePO.Grains.Engines;
using TreePO.Hosting.Engines;
using TreePO.Grains.Placement;
using TreePO.Grains.Routing;
using TreePO.Grains.Trees;
using TreePO.Hosting.Models;
using TreePO.Hosting.Options;

namespace TreePO.Hosting;

/// <summary>The one place where a silo is wired for TreePO.</summary>
public static class TreePOSiloBuilderExtensions
{
    /// <summary>
    /// Engine placement, discovery (this silo's device count as silo metadata), routing, and the model: engines
    /// load <c>Model:Path</c> into an InferenceEngine, trees decode with its tokenizer. Both are read when the first
    /// grain needs them (silo/ checks the model before joining: <see cref="ModelCheck"/>). Clustering is separate (<see cref="UseTreePOClustering(ISiloBuilder, TreePOOptions)"/>)
    /// so test clusters can bring their own. Everything is registered with TryAdd: a test registers its own
    /// <see cref="IEngineBackendFactory"/> or <see cref="TreeText"/> before this call, or after it (the last one wins).
    /// </summary>
    /// <param name="model">The model this silo checked before joining (<see cref="ModelCheck"/>): its hash is
    /// published as silo metadata, so engines of silos that serve another model are left out of routing and syncs.</param>
    public static ISiloBuilder AddTreePO(this ISiloBuilder silo, TreePOOptions? options = null, ModelIdentity? model = null)
    {
        options ??= new TreePOOptions();
        var devices = EngineDevices.Of(options.Engine);
        silo.Services.AddPlacementDirector<SiloPinnedPlacement, SiloPinnedPlacementDirector>();
        silo.Services.AddPlacementDirector<EngineSpreadPlacement, EngineSpreadPlacementDirector>();
        var metadata = new Dictionary<string, string>
        {
            [EngineDirectory.DevicesMetadataKey] = devices.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (model is not null)
        {
            metadata[EngineDirectory.ModelMetadataKey] = model.Hash;
            silo.Services.AddSingleton(model);
            silo.Services.AddSingleton(new LocalModel(model.Hash));
        }
        silo.UseSiloMetadata(metadata);
        silo.Services.AddSingleton(options);
        silo.Services.AddSingleton(devices);
        silo.Services.AddSingleton(new LocalDevices(devices.Count));
        silo.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(options.Routing));
        silo.Services.TryAddSingleton<EngineLoadBoard>();
        silo.Services.TryAddSingleton(EngineQueueLimit.FromSlots(options.Engine.MaxQueuedRequests, options.Engine.MaxSlots));
        silo.Services.TryAddSingleton(TreePO.Grains.Training.RunRecovery.Disabled);   // on with redis/postgres clustering (SiloClustering)
        silo.Services.TryAddSingleton<EngineDirectory>();
        silo.Services.TryAddSingleton<EngineRouter>();
        silo.Services.TryAddSingleton<TreePO.Core.Reward.IRewardFunction>(new TreePO.Core.Reward.MathReward(options.RewardSettings()));   // Reward section
        silo.Services.TryAddSingleton(_ => ModelText.Load(ModelFolder.Resolve(options.Model.Path), options));
        silo.Services.TryAddSingleton(sp => sp.GetRequiredService<ModelText>().TreeText);
        if (options.Engine.Simulated)   // sleeping engines of a cost model (Engine:Simulation), for scale tests
            silo.Services.TryAddSingleton<IEngineBackendFactory, Engines.Simulation.SimulatedEngineFactory>();
        silo.Services.TryAddSingleton<IEngineBackendFactory, InferenceEngineBackendFactory>();
        silo.Services.TryAddSingleton(sp => new WeightStreamServer(   // weights outside Orleans' messages, TLS under Cluster:Tls
            sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<Orleans.Configuration.EndpointOptions>>().Value.SiloListeningEndpoint?.Address
                ?? sp.GetRequiredService<Orleans.Runtime.ILocalSiloDetails>().SiloAddress.Endpoint.Address,
            sp.GetRequiredService<Orleans.Runtime.ILocalSiloDetails>().SiloAddress.Endpoint.Address, true,
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<WeightStreamServer>>(), options.Cluster.WeightStreamPort,
            options.Cluster.Tls.Enabled ? Clustering.ClusterTls.Load(options.Cluster.Tls).ForWeightStream() : null,
            pace: options.Cluster.WeightStreamMBps > 0 ? new EgressPace(options.Cluster.WeightStreamMBps * 1e6) : null));
        silo.Services.TryAddSingleton(new TreePO.Grains.Training.WeightFanout(options.Cluster.WeightFanout.ToLowerInvariant(), options.Cluster.WeightFanoutDegree));
        silo.Services.TryAddSingleton<TreePO.Core.Data.IPromptEncoder>(sp => sp.GetRequiredService<ModelText>());
        silo.Services.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = options.Cluster.ResponseTimeout);
        Clustering.SiloClustering.AddTreeStorage(silo, options);   // trees keep their snapshots here
        // SIGTERM drains the silo before Orleans deactivates its grains: half the graceful share of the stop.
        silo.Services.AddSingleton<TreesInFlight>();
        silo.Services.AddSingleton<LocalRuns>();
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => ActivatorUtilities.CreateInstance<SiloDrain>(sp,
            Processes.ShutdownGuard.GracefulShare(options.Cluster.ShutdownTimeout) / 2));
        // The strongly consistent directory: when a silo dies, the surviving silos' activations are recovered into
        // the new directory owners instead of being forgotten. With the default directory, a grain whose entry lived
        // on the dead silo was activated a second time beside its live activation (a run's trainer came back empty,
        // an engine loaded its model twice).
#pragma warning disable ORLEANSEXP003
        silo.AddDistributedGrainDirectory();
#pragma warning restore ORLEANSEXP003
        return silo;
    }

    /// <summary>Membership (localhost or Redis), endpoints (loopback unless configured), failure detection and
    /// TLS from <see cref="ClusterOptions"/>: see host/Clustering.</summary>
    public static ISiloBuilder UseTreePOClustering(this ISiloBuilder silo, TreePOOptions options) =>
        Clustering.SiloClustering.Configure(silo, options);
}
