namespace TreePO.Grains.Trees;

/// <summary>What a tree grain says when polled: not started on this activation (a new activation after its silo
/// died: start it again, it resumes from storage), still running, or done with its result.</summary>
[GenerateSerializer, Immutable, Alias("treepo.tree-poll")]
public sealed record TreePoll([property: Id(0)] TreePollState State, [property: Id(1)] TreeResult? Result = null);

public enum TreePollState { NotStarted, Running, Done }
