namespace TreePO.Core.Data;

/// <summary>One turn of a chat-message prompt (<c>prompt: [{role, content}]</c> in verl's layout): system, user or assistant.</summary>
public sealed record ChatMessage(string Role, string Content)
{
    public static readonly string[] Roles = ["system", "user", "assistant"];
}
