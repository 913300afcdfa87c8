using System.Text.Json;

namespace TreePO.Engine.Tokenizer;

/// <summary>
/// The work of <c>treepo tokenize</c>: each input line is a JSON string, each output line the JSON array of its token
/// ids (no special tokens added). A line that is not a JSON string gets an error naming its line number and no
/// output line; the run goes on.
/// </summary>
public static class TokenizeLines
{
    /// <returns>The number of lines that were not JSON strings.</returns>
    public static int Run(HfTokenizer tokenizer, TextReader input, TextWriter output, TextWriter errors)
    {
        int lineNumber = 0, bad = 0;
        while (input.ReadLine() is { } line)
        {
            lineNumber++;
            if (!TryParse(line, out string? text, out string? problem))
            {
                bad++;
                errors.WriteLine($"line {lineNumber}: {problem}");
                continue;
            }
            output.Write('[');
            output.Write(string.Join(',', tokenizer.Encode(text!)));
            output.WriteLine(']');
            output.Flush();
        }
        return bad;
    }

    static bool TryParse(string line, out string? text, out string? problem)
    {
        text = null;
        problem = null;
        try
        {
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.ValueKind != JsonValueKind.String)
            {
                problem = $"expected a JSON string, found a JSON {doc.RootElement.ValueKind.ToString().ToLowerInvariant()}";
                return false;
            }
            text = doc.RootElement.GetString();
            return true;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            problem = $"not a JSON string: {e.Message}";
            return false;
        }
    }
}
