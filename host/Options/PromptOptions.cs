using TreePO.Engine.Tokenizer;

namespace TreePO.Hosting.Options;

/// <summary>How a question becomes a prompt: one place, shared by every process that tokenizes.</summary>
public sealed class PromptOptions
{
    /// <summary>Auto: the model folder's chat_template, which must be ChatML-style (refused otherwise, naming the
    /// file); ChatML: ChatML whatever the template (`--chat-format chatml`); Raw: the question text as is
    /// (`--chat-format raw`). Chat and Plain are the older names of ChatML and Raw.</summary>
    public PromptFormat Format { get; set; } = PromptFormat.Auto;

    /// <summary>Chat only. Empty: no system turn (the built-in model). "default": the TreePO reference's
    /// "Please reason step by step ..." (Qwen math models). Anything else is used as written.</summary>
    public string SystemPrompt { get; set; } = "";

    public const string DefaultKeyword = "default";

    /// <summary>The system prompt to use, or null for none.</summary>
    public string? ResolvedSystemPrompt => string.IsNullOrEmpty(SystemPrompt) ? null
        : SystemPrompt.Equals(DefaultKeyword, StringComparison.OrdinalIgnoreCase) ? ChatFormat.DefaultSystemPrompt
        : SystemPrompt;
}
