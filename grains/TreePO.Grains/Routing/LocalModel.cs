namespace TreePO.Grains.Routing;

/// <summary>The content hash of the model this silo checked before joining (<see cref="TreePO.Engine.Checkpoint.ModelHash"/>),
/// also published as its silo metadata. Registered by silos that ran the check; without it nothing is compared.</summary>
public sealed record LocalModel(string Hash);
