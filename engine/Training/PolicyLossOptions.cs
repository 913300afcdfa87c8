namespace TreePO.Engine.Training;

/// <summary>Clip settings of the DAPO-style objective (docs/training.md): asymmetric ratio clip and dual clip.</summary>
public sealed record PolicyLossOptions(double EpsLow = 0.2, double EpsHigh = 0.28, double DualClip = 10.0);
