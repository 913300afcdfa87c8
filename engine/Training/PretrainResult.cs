namespace TreePO.Engine.Training;

/// <summary>What pretraining produced.</summary>
public sealed record PretrainResult(string OutputDir, int Steps, double FinalMeanAtK, bool ReachedTarget,
    int VocabSize, long Parameters, IReadOnlyList<PretrainPoint> Curve);
