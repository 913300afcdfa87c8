namespace TreePO.Grains.Trees;

/// <summary>How a tree came back after its silo died: what the run that finished it found in grain storage.</summary>
/// <param name="Starts">Times this tree's job was started (1: it ran once, uninterrupted).</param>
/// <param name="ResumedSegments">Finished segments taken from the stored snapshot instead of being generated again.</param>
/// <param name="RecomputedSegments">Segments requested again because the round in flight when the tree's silo died
/// was lost with it (a resumed tree); what a tree that starts over had done is not known, see FromScratch.</param>
/// <param name="FromScratch">The tree had started before but no snapshot was found (its silo died in its first
/// round, or in-memory storage died with it), so it started over and recomputed whatever it had done.</param>
[GenerateSerializer, Immutable, Alias("treepo.tree-recovery")]
public sealed record TreeRecovery(
    [property: Id(0)] int Starts,
    [property: Id(1)] int ResumedSegments,
    [property: Id(2)] int RecomputedSegments,
    [property: Id(3)] bool FromScratch)
{
    public static readonly TreeRecovery FirstRun = new(1, 0, 0, false);

    public bool Resumed => ResumedSegments > 0;
}
