namespace TreePO.Grains.Training;

/// <summary>What one policy update did; <see cref="Version"/> is the weight version it published.
/// <see cref="RawAdvantages"/> and <see cref="Advantages"/>: the advantage of every trajectory the update computed
/// (before and after batch normalisation), trajectory order within tree order of the trees it was given; the run
/// grain puts them back into its copy of the trees (runs/NAME/trees/) instead of receiving the trees again.</summary>
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
    [property: Id(12)] int SkippedEmpty,
    [property: Id(13)] double[]? RawAdvantages = null,
    [property: Id(14)] double[]? Advantages = null);
