namespace TreePO.Grains.Training;

/// <summary>What one policy update did; <see cref="Version"/> is the weight version it published.</summary>
[GenerateSerializer, Immutable, Alias("treepo.train-step-report")]
public sealed record TrainStepReport(
    [property: Id(0)] int Version,
    [property: Id(1)] int Samples,
    [property: Id(2)] int Tokens,
    [property: Id(3)] int OptimizerSteps,
    [property: Id(4)] double Loss,
    [property: Id(5)] double ClipFraction,
    [property: Id(6)] double DualClipFraction,
    [property: Id(7)] double ApproxKl,
    [property: Id(8)] double GradNorm,
    [property: Id(9)] double LearningRate,
    [property: Id(10)] double AdvantageMean,
    [property: Id(11)] double AdvantageAbsMean,
    [property: Id(12)] int SkippedEmpty);
