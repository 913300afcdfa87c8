namespace TreePO.Engine.Training;

/// <summary>One trajectory to train on: the prompt, the sampled response and its (already normalised) advantage.
/// A response token's loss counts only where <see cref="ResponseMask"/> is true (null = every token).
/// <see cref="OldLogProbs"/>: the untempered log-prob of each response token under the policy that sampled it, as
/// the engine returned it (null when unknown: the trainer then recomputes them). <see cref="TokenAdvantages"/>: one
/// advantage per response token (the segment advantage), which then replaces <see cref="Advantage"/>.</summary>
public sealed record TrainingSample(int[] Prompt, int[] Response, float Advantage, bool[]? ResponseMask = null, float[]? OldLogProbs = null,
    float[]? TokenAdvantages = null)
{
    public int Length => Prompt.Length + Response.Length;

    /// <summary>The advantage of response token <paramref name="i"/>.</summary>
    public float AdvantageAt(int i) => TokenAdvantages?[i] ?? Advantage;
}
