namespace TreePO.Engine.Training;

/// <summary>What one loss evaluation saw; fractions are over the counted trajectory tokens.</summary>
public sealed record PolicyLossStats(double Tokens, double ClipFraction, double DualClipFraction, double RatioMean, double ApproxKl);
