using System.Text.Json;
using TreePO.Core.Reward;

namespace TreePO.Core.Tests.Reward;

public sealed class ScoreLinesTests
{
    [Fact]
    public async Task Scores_each_line_and_reports_bad_lines_by_number()
    {
        string input = string.Join('\n',
            """{"response": "so \\boxed{\\frac{1}{2}}", "answer": "0.5"}""",
            "not json",
            "",
            """{"response": "the answer is 3", "answer": "#### 4"}""",
            """{"response": "x"}""",
            """{"response": 5, "answer": "5"}""",
            """[1, 2]""",
            """{"response": "no answer", "answer": "1"}""");
        var output = new StringWriter();
        var error = new StringWriter();
        var summary = await ScoreLines.RunAsync(new StringReader(input), output, error, MathReward.PlusMinusOne);

        Assert.Equal(new ScoreLines.Summary(3, 4), summary);
        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        var first = JsonDocument.Parse(lines[0]).RootElement;
        Assert.True(first.GetProperty("correct").GetBoolean());
        Assert.Equal("\\frac{1}{2}", first.GetProperty("extracted").GetString());
        Assert.Equal(1.0, first.GetProperty("reward").GetDouble());
        var second = JsonDocument.Parse(lines[1]).RootElement;
        Assert.False(second.GetProperty("correct").GetBoolean());
        Assert.Equal(-1.0, second.GetProperty("reward").GetDouble());
        var third = JsonDocument.Parse(lines[2]).RootElement;
        Assert.Equal(JsonValueKind.Null, third.GetProperty("extracted").ValueKind);

        string[] errors = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, errors.Length);
        Assert.StartsWith("line 2: invalid JSON", errors[0]);
        Assert.Equal("line 5: missing field \"answer\"", errors[1].TrimEnd());
        Assert.Equal("line 6: field \"response\" must be a string", errors[2].TrimEnd());
        Assert.Equal("line 7: expected a JSON object", errors[3].TrimEnd());
    }

    [Fact]
    public async Task Response_tokens_feed_the_overlong_penalty_and_bad_ones_are_refused()
    {
        string input = string.Join('\n',
            """{"response": "\\boxed{4}", "answer": "4", "response_tokens": 112}""",
            """{"response": "\\boxed{4}", "answer": "4"}""",
            """{"response": "\\boxed{4}", "answer": "4", "response_tokens": -3}""",
            """{"response": "\\boxed{4}", "answer": "4", "response_tokens": "many"}""");
        var output = new StringWriter();
        var error = new StringWriter();
        var reward = new MathReward(new RewardSettings(OverlongBuffer: 32, ResponseBudget: 128));
        var summary = await ScoreLines.RunAsync(new StringReader(input), output, error, reward);

        Assert.Equal(new ScoreLines.Summary(2, 2), summary);
        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(0.5, JsonDocument.Parse(lines[0]).RootElement.GetProperty("reward").GetDouble(), 12);
        Assert.True(JsonDocument.Parse(lines[0]).RootElement.GetProperty("correct").GetBoolean());
        Assert.Equal(1.0, JsonDocument.Parse(lines[1]).RootElement.GetProperty("reward").GetDouble());
        Assert.Contains("line 3: field \"response_tokens\" must be a non-negative integer", error.ToString());
        Assert.Contains("line 4: field \"response_tokens\"", error.ToString());
    }
}
