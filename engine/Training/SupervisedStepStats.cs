namespace TreePO.Engine.Training;

/// <summary>What one supervised step did.</summary>
public sealed record SupervisedStepStats(int Samples, int Tokens, double Loss, double GradNorm, double LearningRate);
