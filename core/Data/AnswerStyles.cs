using System.Text.RegularExpressions;
using TreePO.Core.Reward;

namespace TreePO.Core.Data;

/// <summary>Applies an <see cref="AnswerStyle"/>.</summary>
public static partial class AnswerStyles
{
    /// <summary>The reference answer in <paramref name="text"/>, or null with <paramref name="problem"/> saying what is missing.</summary>
    public static string? Take(AnswerStyle style, string text, string field, out string? problem)
    {
        problem = null;
        string? answer = style switch
        {
            AnswerStyle.AfterHashes => text.LastIndexOf("####", StringComparison.Ordinal) is int at and >= 0
                ? ThousandsComma().Replace(text[(at + 4)..].Trim(), "") : null,
            AnswerStyle.LastBoxed => BoxedAnswer.FindLast(text)?.Trim(),
            _ => text,
        };
        if (string.IsNullOrWhiteSpace(answer))
        {
            problem = style switch
            {
                AnswerStyle.AfterHashes => $"field '{field}' has no '#### answer' (GSM8K style)",
                AnswerStyle.LastBoxed => $"field '{field}' has no \\boxed{{}} answer (MATH style)",
                _ => $"field '{field}' is empty",
            };
            return null;
        }
        return answer;
    }

    [GeneratedRegex(@"(?<=\d),(?=\d{3}(\D|$))")]
    private static partial Regex ThousandsComma();
}
