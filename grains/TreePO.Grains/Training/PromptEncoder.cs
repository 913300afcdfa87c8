namespace TreePO.Grains.Training;

/// <summary>An <see cref="IPromptEncoder"/> over a function (the host's ModelText.PromptIds).</summary>
public sealed class PromptEncoder(Func<string, int[]> encode) : IPromptEncoder
{
    public int[] Encode(string question) => encode(question);
}
