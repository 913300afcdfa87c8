using TreePO.Core.Trees;
using TreePO.Engine.Model;
using TreePO.Engine.Tokenizer;
using TreePO.Grains.Training;
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

    ModelText(string folder, HfTokenizer tokenizer, ChatFormat? chat, int maxContext, int vocabSize)
    {
        Folder = folder;
        Tokenizer = tokenizer;
        this.chat = chat;
        MaxContext = maxContext;
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

    /// <summary>Prompt plus response tokens an engine holds at most (Engine:MaxContext, else the model's, capped at 4096
    /// as the engine does).</summary>
    public int MaxContext { get; }

    /// <summary>What the tree grains of a silo need.</summary>
    public TreeText TreeText => new(Decoder, StopIds);

    /// <summary>Reads the tokenizer and config.json of <paramref name="folder"/> (already resolved by <see cref="ModelFolder"/>).</summary>
    public static ModelText Load(string folder, TreePOOptions options)
    {
        var tokenizer = HfTokenizer.Load(folder);
        var config = Qwen2Config.Load(Path.Combine(folder, "config.json"));
        int maxContext = options.Engine.MaxContext > 0
            ? Math.Min(options.Engine.MaxContext, config.MaxPositionEmbeddings)
            : Math.Min(config.MaxPositionEmbeddings, 4096);
        ChatFormat? chat = null;
        if (options.Prompt.Format == PromptFormat.Chat)
        {
            try { chat = new ChatFormat(tokenizer, options.Prompt.ResolvedSystemPrompt); }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{folder}: {e.Message}; set --prompt.format=plain for a model without a chat template", e);
            }
        }
        return new ModelText(folder, tokenizer, chat, maxContext, config.VocabSize);
    }

    /// <summary>The prompt text of a question (the chat template up to the assistant's turn, or the question itself).</summary>
    public string PromptText(string question) => chat?.Prompt(question) ?? question;

    public int[] PromptIds(string question) => Tokenizer.Encode(PromptText(question));

    int[] IPromptEncoder.Encode(string question) => PromptIds(question);

    /// <summary>Special tokens (EOS, chat markers) are left out of the text the stop checks and the reward read.</summary>
    sealed class TokenizerDecoder(HfTokenizer tokenizer) : ITextDecoder
    {
        public string Decode(IReadOnlyList<int> tokens) => tokenizer.Decode(tokens, skipSpecial: true);
    }
}
