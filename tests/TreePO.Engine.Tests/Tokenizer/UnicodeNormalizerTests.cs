using System.Text;
using TreePO.Engine.Tokenizer;

namespace TreePO.Engine.Tests.Tokenizer;

public sealed class UnicodeNormalizerTests
{
    [Theory]
    [InlineData(NormalizationForm.FormC, "e\u0301", "\u00e9")] // combining acute composes
    [InlineData(NormalizationForm.FormC, "\u212b", "\u00c5")] // ANGSTROM SIGN is a singleton for Å
    [InlineData(NormalizationForm.FormC, "\ufb01", "\ufb01")] // the fi ligature is only a compatibility decomposition
    [InlineData(NormalizationForm.FormKC, "\ufb01", "fi")]
    [InlineData(NormalizationForm.FormD, "\u00e9", "e\u0301")]
    [InlineData(NormalizationForm.FormKD, "\u2460", "1")] // circled digit one
    [InlineData(NormalizationForm.FormC, "plain ascii", "plain ascii")]
    public void Normalizes_even_in_invariant_globalization_mode(NormalizationForm form, string input, string expected)
    {
        Assert.Equal(expected, new UnicodeNormalizer(form).Normalize(input));
    }

    [Fact]
    public void Long_text_that_grows_is_not_truncated()
    {
        // U+FDFA (an Arabic ligature) is 18 letters under NFKD: more than the first buffer guess of 3 chars per char.
        string text = new('\uFDFA', 100);
        string result = new UnicodeNormalizer(NormalizationForm.FormKD).Normalize(text);
        Assert.Equal(1800, result.Length);
        Assert.StartsWith("\u0635\u0644\u0649", result);
    }
}
