using TreePO.Engine.Tokenizer;

namespace TreePO.Engine.Tests.Tokenizer;

public sealed class TokenizeLinesTests
{
    [Fact]
    public void Each_json_string_line_becomes_an_id_array_and_bad_lines_are_reported_by_number()
    {
        string input = string.Join('\n',
            "\"hello world\"",
            "42",
            "not json",
            "\"<|im_start|>user\\nhi<|im_end|>\"",
            "",
            "{\"text\": \"x\"}",
            "\"\"") + "\n";
        var output = new StringWriter { NewLine = "\n" };
        var errors = new StringWriter { NewLine = "\n" };

        int bad = TokenizeLines.Run(Qwen3Fixture.Tokenizer, new StringReader(input), output, errors);

        Assert.Equal(4, bad);
        Assert.Equal("[14990,1879]\n[151644,872,198,6023,151645]\n[]\n", output.ToString());
        string[] messages = errors.ToString().TrimEnd('\n').Split('\n');
        Assert.Equal(4, messages.Length);
        Assert.StartsWith("line 2: expected a JSON string, found a JSON number", messages[0]);
        Assert.StartsWith("line 3: not a JSON string", messages[1]);
        Assert.StartsWith("line 5: not a JSON string", messages[2]);
        Assert.StartsWith("line 6: expected a JSON string, found a JSON object", messages[3]);
    }
}
