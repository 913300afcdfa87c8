namespace TreePO.Engine.Training;

/// <summary>One trajectory to train on: the prompt, the sampled response and its (already normalised) advantage.
/// A response token's loss counts only where <see cref="ResponseMask"/> is true (null = every token).</summary>
public sealed record TrainingSample(int[] Prompt, int[] Response, float Advantage, bool[]? ResponseMask = null)
{
    public int Length => Prompt.Length + Response.Length;
}
