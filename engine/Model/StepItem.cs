namespace TreePO.Engine.Model;

/// <summary>One sequence's share of a cached forward step: <see cref="Tokens"/> go to positions
/// <c>[Start, Start + Tokens.Length)</c> of KV slot <see cref="Slot"/>, attending to that slot's rows <c>[0, Start)</c>
/// and causally to each other. <see cref="WantLogits"/> asks for the logits of the last of them.</summary>
public readonly record struct StepItem(int Slot, int Start, int[] Tokens, bool WantLogits = true);
