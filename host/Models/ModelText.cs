using TreePO.Core.Data;
using TreePO.Core.Tasks;
using TreePO.Core.Trees;
using TreePO.Engine.Model;
using TreePO.Engine.Tokenizer;
using TreePO.Grains.Trees;
using TreePO.Hosting.Options;

namespace TreePO.Hosting.Models;

/// <summary>
/// The text side of one model folder, as every process of a run needs it: prompts in the configured format
/// (<see cref="PromptOptions"/>), the ids that end a reply (the tokenizer's EOS plus &lt;|im_end|&gt; for chat prompts;
/// engines stop on the same set), decoding for the stop checks and the reward, and the longest path an engine holds.
/// It is the silo's <see cref="IPromptEncoder"/> (training reads its questions through it).
/// </summary>
public sealed class ModelText : IPromptEncoder
{
    readonly ChatFormat? chat;

    ModelText(string folder, HfTokenizer tokenizer, ChatFormat? chat, int maxSequenceLength, int vocabSize)
    {
        Folder = folder;
        Tokenizer = tokenizer;
        this.chat = chat;
        MaxSequenceLength = maxSequenceLength;
        StopIds = chat?.StopIds ?? tokenizer.EosIds;
        Decoder = new TokenizerDecoder(tokenizer);
        if (tokenizer.VocabSize > vocabSize)
            throw new InvalidDataException(
                $"{folder}: the tokenizer has {tokenizer.VocabSize} ids but config.json's vocab_size is {vocabSize}; they belong to different models");
    }

    public string Folder { get; }
    public HfTokenizer Tokenizer { get; }
    public IReadOnlySet<int> StopIds { get; }
    public ITextDecoder Decoder { get; }

    /// <summary>Prompt plus response tokens an engine holds at most (Engine:MaxSequenceLength, else the model's, capped at 4096
    /// as the engine does).</summary>
    public int MaxSequenceLength { get; }

    /// <summary>What the tree grains of a silo need.</summary>
    public TreeText TreeText => new(Decoder, StopIds);

    /// <summary>Reads the tokenizer and config.json of <paramref name="folder"/> (already resolved by <see cref="ModelFolder"/>).</summary>
    public static ModelText Load(string folder, TreePOOptions options)
    {
        var tokenizer = HfTokenizer.Load(folder);
        var config = Qwen2Config.Load(Path.Combine(folder, "config.json"));
        int maxSequenceLength = options.Engine.MaxSequenceLength > 0
            ? Math.Min(options.Engine.MaxSequenceLength, config.MaxPositionEmbeddings)
            : Math.Min(config.MaxPositionEmbeddings, 4096);
        return new ModelText(folder, tokenizer, Chat(folder, tokenizer, options.Prompt), maxSequenceLength, config.VocabSize);
    }

    /// <summary>
    /// Auto: the folder's chat_template must be ChatML-style (<see cref="ChatTemplate"/>; its default system turn is
    /// used when no system prompt is configured); a folder without one gets ChatML when its tokenizer has the markers.
    /// ChatML: ChatML whatever the template says. Raw: no chat format.
    /// </summary>
    static ChatFormat? Chat(string folder, HfTokenizer tokenizer, PromptOptions prompt)
    {
        if (prompt.Format == PromptFormat.Raw) return null;
        string? system = prompt.ResolvedSystemPrompt;
        if (prompt.Format == PromptFormat.Auto && ChatTemplate.Read(folder) is { } template)   // read even with a system prompt: it may refuse
            system ??= template.DefaultSystemPrompt;
        try { return new ChatFormat(tokenizer, system); }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{folder}: {e.Message}; pass --chat-format raw (--prompt.format=raw) for a model without a chat template", e);
        }
    }

    /// <summary>The prompt text of a question (the chat template up to the assistant's turn, or the question itself).</summary>
    public string PromptText(string question) => chat?.Prompt(question) ?? question;

    /// <summary>The prompt text of a dataset item: its chat messages when it has them, else its question. Raw prompts
    /// join the messages' contents with blank lines.</summary>
    public string PromptText(TaskItem item) => item.Messages is not { } messages ? PromptText(item.Question)
        : chat?.Prompt(messages) ?? string.Join("\n\n", messages.Select(m => m.Content));

    public int[] PromptIds(string question) => Tokenizer.Encode(PromptText(question));

    public int[] PromptIds(TaskItem item) => Tokenizer.Encode(PromptText(item));

    int[] IPromptEncoder.Encode(TaskItem item) => PromptIds(item);

    /// <summary>Special tokens (EOS, chat markers) are left out of the text the stop checks and the reward read.</summary>
    sealed class TokenizerDecoder(HfTokenizer tokenizer) : ITextDecoder
    {
        public string Decode(IReadOnlyList<int> tokens) => tokenizer.Decode(tokens, skipSpecial: true);
    }
}
