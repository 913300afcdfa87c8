namespace TreePO.Engine.Training;

/// <summary>One held-out evaluation during pretraining.</summary>
public sealed record PretrainPoint(int Step, double Loss, double MeanAtK, double MajAtK, double PassAtK, double WallSeconds);
