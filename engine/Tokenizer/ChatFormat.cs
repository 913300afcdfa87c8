using TreePO.Core.Data;

namespace TreePO.Engine.Tokenizer;

/// <summary>
/// The Qwen chat format (ChatML) for one user question:
/// <c>&lt;|im_start|&gt;system\n{system}&lt;|im_end|&gt;\n&lt;|im_start|&gt;user\n{question}&lt;|im_end|&gt;\n&lt;|im_start|&gt;assistant\n</c>.
/// Chat-message prompts (system, user and assistant turns) render each turn the same way, as Hugging Face renders a
/// ChatML template with the generation prompt (<see cref="ChatTemplate"/> checks a model's template is one). The
/// <see cref="SystemPrompt"/> is written when the messages do not start with a system turn of their own.
/// The default system prompt is the TreePO reference's. A reply ends with <c>&lt;|im_end|&gt;</c>, so for chat
/// prompts that token is an end of sequence even when the model's config lists only <c>&lt;|endoftext|&gt;</c>
/// (Qwen2.5 base models do): <see cref="StopIds"/> holds both.
/// </summary>
public sealed class ChatFormat
{
    public const string DefaultSystemPrompt = "Please reason step by step, and put your final answer within \\boxed{}.";
    public const string ImStart = "<|im_start|>";
    public const string ImEnd = "<|im_end|>";

    readonly HfTokenizer _tokenizer;

    /// <param name="systemPrompt">null or empty: no system turn.</param>
    public ChatFormat(HfTokenizer tokenizer, string? systemPrompt = DefaultSystemPrompt)
    {
        _tokenizer = tokenizer;
        SystemPrompt = string.IsNullOrEmpty(systemPrompt) ? null : systemPrompt;
        ImStartId = tokenizer.TokenToId(ImStart) ?? throw new InvalidDataException($"the tokenizer has no {ImStart} token, so it cannot use the Qwen chat format");
        ImEndId = tokenizer.TokenToId(ImEnd) ?? throw new InvalidDataException($"the tokenizer has no {ImEnd} token, so it cannot use the Qwen chat format");
        StopIds = new HashSet<int>(tokenizer.EosIds) { ImEndId };
    }

    public string? SystemPrompt { get; }
    public int ImStartId { get; }
    public int ImEndId { get; }

    /// <summary>The tokenizer's EOS ids plus <c>&lt;|im_end|&gt;</c>: where a chat reply stops.</summary>
    public IReadOnlySet<int> StopIds { get; }

    /// <summary>The prompt text for <paramref name="question"/>, ending where the assistant's reply begins.</summary>
    public string Prompt(string question) => PromptText(question, SystemPrompt);

    /// <summary>The token ids of <see cref="Prompt(string)"/>.</summary>
    public int[] PromptIds(string question) => _tokenizer.Encode(Prompt(question));

    /// <summary>The prompt text for chat messages, ending where the assistant's reply begins.</summary>
    public string Prompt(IReadOnlyList<ChatMessage> messages) => PromptText(messages, SystemPrompt);

    /// <summary>The ids a reply is trained on: the reply and the <c>&lt;|im_end|&gt;</c> that ends it.</summary>
    public int[] ReplyIds(string reply) => _tokenizer.Encode(reply + ImEnd);

    public static string PromptText(string question, string? systemPrompt = DefaultSystemPrompt)
    {
        ArgumentNullException.ThrowIfNull(question);
        return PromptText([new ChatMessage("user", question)], systemPrompt);
    }

    /// <summary>Each turn as <c>&lt;|im_start|&gt;role\ncontent&lt;|im_end|&gt;\n</c>, a system turn first unless the
    /// messages have one, then the generation prompt <c>&lt;|im_start|&gt;assistant\n</c>.</summary>
    public static string PromptText(IReadOnlyList<ChatMessage> messages, string? systemPrompt)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var text = new System.Text.StringBuilder();
        if (!string.IsNullOrEmpty(systemPrompt) && (messages.Count == 0 || messages[0].Role != "system"))
            text.Append($"{ImStart}system\n{systemPrompt}{ImEnd}\n");
        foreach (var m in messages)
            text.Append($"{ImStart}{m.Role}\n{m.Content}{ImEnd}\n");
        return text.Append($"{ImStart}assistant\n").ToString();
    }
}
