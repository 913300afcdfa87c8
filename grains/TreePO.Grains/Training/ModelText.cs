using TreePO.Core.Trees;
using TreePO.Engine.Tokenizer;
using TreePO.Grains.Trees;

namespace TreePO.Grains.Training;

/// <summary>
/// The text side of a model folder for a silo: the trees' decoder and stop ids (<see cref="TreeText"/>) and the
/// prompt encoder (the model's chat format, with or without a system turn). The stop ids are the tokenizer's EOS ids
/// plus &lt;|im_end|&gt;, where a chat reply ends.
/// </summary>
public sealed class ModelText : IPromptEncoder, ITextDecoder
{
    readonly HfTokenizer tokenizer;
    readonly ChatFormat chat;

    public ModelText(HfTokenizer tokenizer, string? systemPrompt)
    {
        this.tokenizer = tokenizer;
        chat = new ChatFormat(tokenizer, systemPrompt);
        Text = new TreeText(this, chat.StopIds);
    }

    /// <summary>Loads the tokenizer files of <paramref name="modelDir"/>. <paramref name="systemPrompt"/> null or
    /// empty: no system turn (the built-in model's format).</summary>
    public static ModelText Load(string modelDir, string? systemPrompt) => new(HfTokenizer.Load(modelDir), systemPrompt);

    public TreeText Text { get; }

    public int[] Encode(string question) => chat.PromptIds(question);

    public string Decode(IReadOnlyList<int> tokens) => tokenizer.Decode(tokens, skipSpecial: true);
}
