using System.Text;
using System.Text.Json;
using TreePO.Engine.Tokenizer;

namespace TreePO.Engine.Tests.Tokenizer;

public sealed class HfTokenizerQwen3Tests
{
    static HfTokenizer Tok => Qwen3Fixture.Tokenizer;

    /// <summary>
    /// (text, ids) pairs checked by hand against fixtures/qwen3-tokenizer/tokenizer.json: split the text with the
    /// file's regex, map each piece's UTF-8 bytes to the byte-level alphabet (space 'Ġ', '\n' 'Ċ'), then apply the
    /// lowest-ranked merge present (rank = index in model.merges) until none applies, and look the pieces up in
    /// model.vocab. The merges used are listed with their ranks. The same ids came out of an independent JS
    /// implementation of HF tokenizers (@huggingface/tokenizers 0.2.0) run on the same file.
    /// </summary>
    public static TheoryData<string, int[]> HandChecked => new()
    {
        // "hello": e+l #45, l+o #129, el+lo #4535, h+ello #14734 -> "hello" 14990.
        // " world": o+r #13, Ġ+w #33, l+d #251, or+ld #1129, Ġw+orld #1623 -> "Ġworld" 1879.
        { "hello world", [14990, 1879] },
        // "Hello": as above then H+ello #9451 -> 9707; "," 11 and "!" 0 are single bytes with no merge.
        { "Hello, world!", [9707, 11, 1879, 0] },
        // "I" 40; "'ll" (the contraction branch): l+l #398, '+ll #3022 -> 3278. Of the two spaces before "123",
        // \s+(?!\S) takes only the first (it may not end right before the "1"), then \s+ takes the second: "Ġ" 220 twice.
        // Digits one by one: "1" 16 "2" 17 "3" 18. "!!\n\n" is one piece (punctuation then [\r\n]*):
        // Ċ+Ċ #15, !+ĊĊ #1963, !+!ĊĊ #24540 -> 24796.
        { "I'll  123 world!!\n\n", [40, 3278, 220, 220, 16, 17, 18, 1879, 24796] },
        // "你好" = bytes E4 BD A0 E5 A5 BD = "ä½łå¥½": ä+½ #8263, å+¥ #26839, å¥+½ #52545, ä½+ł #56312,
        // ä½ł+å¥½ #108130 -> 108386. "，" (EF BC 8C) = "ï¼Į": ï+¼ #1284, ï¼+Į #3581 -> 3837.
        // "世界" = "ä¸ĸçķĮ": ä+¸ #3234, ç+ķ #38842, çķ+Į #96864, ä¸+ĸ #98988, ä¸ĸ+çķĮ #99233 -> 99489.
        { "你好，世界", [108386, 3837, 99489] },
        // "😀" (F0 9F 98 80) = "ðŁĺĢ": ð+Ł #9028, ðŁ+ĺ #75104, ðŁĺ+Ģ #141078 -> 141334.
        // " emoji": e+m #80, Ġ+em #720, j+i #7498, o+ji #26646, Ġem+oji #42109 -> 42365.
        { "😀 emoji", [141334, 42365] },
        // Added tokens from added_tokens: <|im_start|> 151644, <|im_end|> 151645. "user": e+r #5, u+s #99,
        // us+er #616 -> 872; "\n" = "Ċ" 198; "hi": h+i #5767 -> 6023.
        { "<|im_start|>user\nhi<|im_end|>\n", [151644, 872, 198, 6023, 151645, 198] },
        // NFC first: "e" + U+0301 becomes "é" (C3 A9 = "Ã©"): Ã+© #707 -> 963.
        { "e\u0301", [963] },
        // "𝑥" is a letter outside the BMP (F0 9D 91 A5 = "ðĿĳ¥": ð+Ŀ #55996, ðĿ+ĳ #123563, ðĿĳ+¥ #145900
        // -> 146156), so "'s" stays the contraction piece: '+s #338 -> 594 (not "𝑥'" + "s").
        { "𝑥's", [146156, 594] },
        // Digits single; "\\" (space + backslash) Ġ+\ #868 -> 1124; "boxed": e+d #35, b+o #493, bo+x #1755,
        // box+ed #78819 -> 79075; "{" 90, "}" 92, "+" 10, "=" 28, "." 13, "-" 12, " " 220.
        { "12+7=19. 19-5=14. \\boxed{14}", [16, 17, 10, 22, 28, 16, 24, 13, 220, 16, 24, 12, 20, 28, 16, 19, 13, 1124, 79075, 90, 16, 19, 92] },
        // <think> 151667 and </think> 151668 are added but not special; "x" 87.
        { "<think>x</think>", [151667, 87, 151668] },
    };

    [Theory]
    [MemberData(nameof(HandChecked))]
    public void Encodes_hand_checked_pairs(string text, int[] expected)
    {
        Assert.Equal(expected, Tok.Encode(text));
    }

    [Fact]
    public void Agrees_with_an_independent_hf_implementation_on_400_mixed_strings()
    {
        // fixtures/qwen3-tokenizer/REFERENCE.md says how these were made.
        int row = 0;
        foreach (string line in File.ReadLines(Path.Combine(Qwen3Fixture.Dir, "reference-ids.jsonl")))
        {
            row++;
            using var doc = JsonDocument.Parse(line);
            string text = doc.RootElement.GetProperty("text").GetString()!;
            int[] expected = doc.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            int[] actual = Tok.Encode(text);
            Assert.True(expected.SequenceEqual(actual), $"row {row} {JsonSerializer.Serialize(text)}: expected [{string.Join(',', expected)}], got [{string.Join(',', actual)}]");
        }
        Assert.Equal(400, row);
    }

    [Theory]
    [InlineData("The quick brown fox jumps over the lazy dog.")]
    [InlineData("Grüße, naïve café — “quotes” and ½ ≠ ∞")]
    [InlineData("我们来计算一下：12 乘以 7 等于 84。")]
    [InlineData("emoji 😀👍🏽 family 👨‍👩‍👧 flags 🇫🇷")]
    [InlineData("def f(x):\n    return {\"a\": [1, 2]}  # comment\n\tpass\r\n")]
    [InlineData("  leading\n\n\n   spaces   and trailing   \n")]
    [InlineData("a\tb\r\nc   \n\n\n  d")]
    [InlineData("𝑥² + 𝐲 = 𠀀 tokens I'LL DON'T")]
    [InlineData("<|im_start|>system\nx<|im_end|><|im_start|>user\n<tool_call>y</tool_call><|endoftext|>")]
    [InlineData("e\u0301 Å a\u0308")]
    [InlineData("")]
    public void Decode_of_encode_gives_back_the_text(string text)
    {
        int[] ids = Tok.Encode(text);
        Assert.Equal(new UnicodeNormalizer(NormalizationForm.FormC).Normalize(text), Tok.Decode(ids));
    }

    [Fact]
    public void Every_added_token_is_one_id_alone_and_inside_text()
    {
        Assert.Equal(26, Tok.AddedTokens.Count);
        foreach (var t in Tok.AddedTokens)
        {
            Assert.Equal([t.Id], Tok.Encode(t.Content));
            // "a" 64, "b" 65: the token is cut out of the surrounding text.
            Assert.Equal([64, t.Id, 65], Tok.Encode("a" + t.Content + "b"));
        }
    }

    [Fact]
    public void Skip_special_drops_special_added_tokens_only()
    {
        int[] ids = Tok.Encode("<|im_start|>user\n<tool_call>hi</tool_call><|im_end|>");
        Assert.Equal("user\n<tool_call>hi</tool_call>", Tok.Decode(ids, skipSpecial: true));
        Assert.Equal("<|im_start|>user\n<tool_call>hi</tool_call><|im_end|>", Tok.Decode(ids));
    }

    [Fact]
    public void Serves_the_tree_sampler_as_its_text_decoder()
    {
        TreePO.Core.Trees.ITextDecoder decoder = Tok;
        Assert.Equal("hello world<|im_end|>", decoder.Decode([14990, 1879, 151645]));
    }

    [Fact]
    public void Decode_of_a_partial_utf8_sequence_gives_the_replacement_character()
    {
        int[] ids = Tok.Encode("😀");
        Assert.Single(ids); // one token of 4 bytes; its first byte "ð" alone is id 148 (a lone lead byte).
        Assert.Equal("\uFFFD", Tok.Decode([148]));
    }

    [Fact]
    public void Reads_vocab_size_pad_and_eos_from_the_files()
    {
        Assert.Equal(151_669, Tok.VocabSize); // 151,643 vocabulary entries + 26 added tokens
        Assert.Equal(151_643, Tok.PadId); // pad_token <|endoftext|>
        Assert.Equal(new HashSet<int> { 151_645 }, Tok.EosIds); // eos_token <|im_end|>; no config.json here
        Assert.Equal(151_644, Tok.TokenToId("<|im_start|>"));
        Assert.Equal(1879, Tok.TokenToId("Ġworld"));
        Assert.Equal("Ġworld", Tok.IdToToken(1879));
    }

    [Fact]
    public void A_folder_without_tokenizer_json_is_named()
    {
        string dir = TreePO.Testing.ScratchFolders.Create("treepo-tok-").FullName;
        try
        {
            var e = Assert.Throws<FileNotFoundException>(() => HfTokenizer.Load(dir));
            Assert.Contains("tokenizer.json", e.Message);
            Assert.Contains(dir, e.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
