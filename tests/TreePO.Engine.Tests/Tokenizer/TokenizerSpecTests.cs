using System.Text.Json.Nodes;
using TreePO.Engine.Tokenizer;

namespace TreePO.Engine.Tests.Tokenizer;

public sealed class TokenizerSpecTests : IDisposable
{
    readonly string _dir = TreePO.Testing.ScratchFolders.Create("treepo-spec-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    string Write(JsonNode json, string name = "tokenizer.json")
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, json.ToJsonString());
        return path;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Merges_as_pairs_and_as_strings_both_load(bool asStrings)
    {
        var tok = HfTokenizer.FromSpec(TokenizerSpec.Read(Write(SmallTokenizer.Json(asStrings))));
        // Merged tokens take ids 256.. in merge order: he 256, ll 257, hell 258, hello 259, Ġw 260; <|im_end|> is 263.
        // "hello" -> h+e, l+l, he+ll, hell+o = 259; " world" -> Ġ+w = 260, then the bytes o r l d (ids = byte values).
        Assert.Equal([259, 260, 'o', 'r', 'l', 'd', 263], tok.Encode("hello world<|im_end|>"));
        Assert.Equal("hello world<|im_end|>", tok.Decode(tok.Encode("hello world<|im_end|>")));
        Assert.Equal(264, tok.VocabSize);
    }

    [Fact]
    public void The_gpt2_style_byte_level_pre_tokenizer_is_read_too()
    {
        var json = SmallTokenizer.Json(false);
        json["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = true };
        var spec = TokenizerSpec.Read(Write(json));
        Assert.Equal(TokenizerSpec.Gpt2SplitPattern, spec.SplitPattern);
        // GPT-2's regex keeps digit runs together: "123" is one piece (three byte tokens, no merges here).
        Assert.Equal(['1', '2', '3'], HfTokenizer.FromSpec(spec).Encode("123"));
    }

    [Fact]
    public void Write_then_read_gives_the_same_spec()
    {
        var spec = TokenizerSpec.Read(Write(SmallTokenizer.Json(true)));
        string copy = Path.Combine(_dir, "copy.json");
        spec.Write(copy);
        var back = TokenizerSpec.Read(copy);
        Assert.Equal(spec.Vocab.OrderBy(kv => kv.Value), back.Vocab.OrderBy(kv => kv.Value));
        Assert.Equal(spec.Merges, back.Merges);
        Assert.Equal(spec.AddedTokens, back.AddedTokens);
        Assert.Equal(spec.SplitPattern, back.SplitPattern);
        Assert.Equal(spec.Normalization, back.Normalization);
    }

    public static TheoryData<string, string> BadFiles => new()
    {
        { "model", "missing" },
        { "model.type", "WordPiece" },
        { "model.vocab", "id must be" },
        { "model.merges[2]", "not in model.vocab" },
        { "model.merges[0]", "two tokens" },
        { "model.byte_fallback", "true" },
        { "added_tokens[0].content", "non-empty" },
        { "normalizer.type", "Lowercase" },
        { "pre_tokenizer.pretokenizers[0].pattern.Regex", "regex" },
        { "pre_tokenizer.type", "Whitespace" },
        { "decoder.type", "ByteLevel decoder" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void A_bad_file_names_the_file_and_the_field(string field, string problem)
    {
        var json = SmallTokenizer.Json(false);
        switch (field)
        {
            case "model": json.Remove("model"); break;
            case "model.type": json["model"]!["type"] = "WordPiece"; problem = "'WordPiece' is not supported"; break;
            case "model.vocab": json["model"]!["vocab"]!["h"] = "seven"; field = "model.vocab[\"h\"]"; break;
            case "model.merges[2]": json["model"]!["vocab"]!.AsObject().Remove("hell"); problem = "'hell' is not in model.vocab"; break;
            case "model.merges[0]": json["model"]!["merges"]![0] = "hxe"; break;
            case "model.byte_fallback": json["model"]!["byte_fallback"] = true; break;
            case "added_tokens[0].content": json["added_tokens"]![0]!["content"] = ""; break;
            case "normalizer.type": json["normalizer"]!["type"] = "Lowercase"; break;
            case "pre_tokenizer.pretokenizers[0].pattern.Regex": json["pre_tokenizer"]!["pretokenizers"]![0]!["pattern"]!["Regex"] = "(unclosed"; break;
            case "pre_tokenizer.type": json["pre_tokenizer"] = new JsonObject { ["type"] = "Whitespace" }; break;
            case "decoder.type": json["decoder"] = new JsonObject { ["type"] = "WordPiece" }; break;
        }
        string path = Write(json);
        var e = Assert.Throws<InvalidDataException>(() => TokenizerSpec.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains($"'{field}'", e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void A_file_that_is_not_json_is_named()
    {
        string path = Path.Combine(_dir, "tokenizer.json");
        File.WriteAllText(path, "{ \"model\": ");
        var e = Assert.Throws<InvalidDataException>(() => TokenizerSpec.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("not valid JSON", e.Message);
    }

    [Fact]
    public void Added_tokens_match_leftmost_then_longest()
    {
        var splitter = new AddedTokenSplitter([new AddedToken(1, "<a>", true), new AddedToken(2, "<a>b", false), new AddedToken(3, "b<", false)]);
        // At 0 "x" matches nothing; at 1 both "<a>" and "<a>b" start: the longer wins, so "b<" (starting inside it) does not.
        var pieces = splitter.Split("x<a>b<a>").Select(p => (p.Offset, p.Length, p.Token?.Id)).ToArray();
        Assert.Equal([(0, 1, (int?)null), (1, 4, 2), (5, 3, 1)], pieces);
    }
}
