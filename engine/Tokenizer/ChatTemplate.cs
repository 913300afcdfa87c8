using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace TreePO.Engine.Tokenizer;

/// <summary>
/// The <c>chat_template</c> of a model folder's tokenizer_config.json, recognised rather than executed: TreePO renders
/// ChatML (<see cref="ChatFormat"/>), so a template is accepted when it writes each turn as
/// <c>'&lt;|im_start|&gt;' + role + '\n' + content + '&lt;|im_end|&gt;\n'</c> and opens the reply with
/// <c>'&lt;|im_start|&gt;assistant\n'</c> (Qwen2, Qwen2.5, Qwen3, the built-in model's). A default system turn the
/// template writes when the conversation has none (Qwen2's "You are a helpful assistant.", Qwen2.5's "You are Qwen,
/// ...") is kept in <see cref="DefaultSystemPrompt"/>, as Hugging Face would render it. Anything else is refused,
/// naming the file, so that a model never silently gets prompts in a format it was not trained on.
/// </summary>
public sealed partial record ChatTemplate(string File, string? DefaultSystemPrompt)
{
    public const string FileName = "tokenizer_config.json";

    /// <summary>The recognised template of <paramref name="modelDir"/>, or null when the folder has no
    /// tokenizer_config.json or it has no chat_template.</summary>
    /// <exception cref="InvalidDataException">The template is not ChatML-style (the message names the file and the way out).</exception>
    public static ChatTemplate? Read(string modelDir)
    {
        string path = Path.Combine(modelDir, FileName);
        if (!System.IO.File.Exists(path))
            return null;
        using var doc = JsonDocument.Parse(System.IO.File.ReadAllBytes(path));
        if (!doc.RootElement.TryGetProperty("chat_template", out var t) || t.ValueKind == JsonValueKind.Null)
            return null;
        string? source = t.ValueKind switch
        {
            JsonValueKind.String => t.GetString(),
            // Several named templates: the one used for plain chat is "default".
            JsonValueKind.Array => t.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Object && e.TryGetProperty("name", out var n) && n.ValueEquals("default"))
                .Select(e => e.TryGetProperty("template", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null).FirstOrDefault(),
            _ => null,
        };
        return source is null
            ? throw new InvalidDataException($"{path}: field 'chat_template' must be a string or a list holding a template named 'default'")
            : Recognise(source, path);
    }

    /// <summary>Checks <paramref name="template"/> (the Jinja source) and finds its default system turn.</summary>
    public static ChatTemplate Recognise(string template, string path)
    {
        if (!Turn().IsMatch(template) || !GenerationPrompt().IsMatch(template))
            throw new InvalidDataException(
                $"{path}: the chat_template is not ChatML-style (no '<|im_start|>' + role + '\\n' + content + '<|im_end|>' turns opening the reply with " +
                "'<|im_start|>assistant\\n'), and TreePO renders ChatML only: pass --chat-format chatml to use ChatML anyway " +
                "(--prompt.format=chatml), or --chat-format raw for the question text as is");
        var system = DefaultSystem().Match(template);
        return new ChatTemplate(path, system.Success ? Unescape(system.Groups[1].Value) : null);
    }

    /// <summary>A Jinja string literal's content as the string it means (\n, \\, \' and \").</summary>
    static string Unescape(string literal)
    {
        var s = new StringBuilder(literal.Length);
        for (int i = 0; i < literal.Length; i++)
        {
            if (literal[i] != '\\' || i + 1 == literal.Length) { s.Append(literal[i]); continue; }
            char c = literal[++i];
            s.Append(c switch { 'n' => '\n', 't' => '\t', 'r' => '\r', _ => c });
        }
        return s.ToString();
    }

    // A newline in a template literal is written \n (or is a real newline where the JSON held "\n").
    const string Nl = @"(?:\\n|\n)";
    const string Role = @"message(?:\['role'\]|\[""role""\]|\.role)";
    const string Content = @"message(?:\['content'\]|\[""content""\]|\.content)";

    [GeneratedRegex(@"['""]<\|im_start\|>['""]\s*\+\s*" + Role + @"\s*\+\s*['""]" + Nl + @"['""]\s*\+\s*" + Content +
        @"\s*\+\s*['""]<\|im_end\|>(?:['""]\s*\+\s*['""])?" + Nl + @"['""]")]
    private static partial Regex Turn();

    [GeneratedRegex(@"['""]<\|im_start\|>assistant" + Nl + @"['""]")]
    private static partial Regex GenerationPrompt();

    /// <summary>A literal system turn with its text inside: the template's default system prompt.</summary>
    [GeneratedRegex(@"'<\|im_start\|>system" + Nl + @"((?:[^'\\]|\\.)+?)<\|im_end\|>" + Nl + @"'")]
    private static partial Regex DefaultSystem();
}
