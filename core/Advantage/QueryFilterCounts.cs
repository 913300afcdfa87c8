namespace TreePO.Core.Advantage;

/// <summary>The counts a filtered batch reports.</summary>
/// <param name="Rounds">Generation rounds used (1 + extra rounds).</param>
/// <param name="Generated">Queries sampled over all rounds.</param>
/// <param name="Kept">Queries that passed the filter (before the surplus is dropped).</param>
/// <param name="Surplus">Kept queries dropped from the end because the batch was full.</param>
public sealed record QueryFilterCounts(int Rounds, int Generated, int Kept, int DroppedAllCorrect, int DroppedAllWrong,
    int DroppedEmpty, int Surplus, int Target);
