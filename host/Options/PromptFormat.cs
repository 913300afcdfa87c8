namespace TreePO.Hosting.Options;

/// <summary>How a question becomes a prompt (Prompt:Format); Chat and Plain are older spellings.</summary>
public enum PromptFormat { Auto, ChatML, Raw, Chat = ChatML, Plain = Raw }
