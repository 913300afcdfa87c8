namespace TreePO.Core.Trees;

/// <summary>One query of a rollout batch: its id, question text, ground-truth answer and tokenised prompt.</summary>
public sealed record QueryItem(string Id, string Question, string Answer, int[] PromptTokens);
