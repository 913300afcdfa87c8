using System.Text.Json.Nodes;
using TreePO.Engine.Tokenizer;

namespace TreePO.Engine.Tests.Tokenizer;

/// <summary>A hand-made byte-level tokenizer, small enough to load in milliseconds, for tests of file handling.</summary>
static class SmallTokenizer
{
    /// <summary>A small tokenizer.json: 256 byte tokens, merges h+e, l+l, he+ll, hell+o, Ġ+w, and the added tokens <|endoftext|> 261, <|im_start|> 262, <|im_end|> 263.</summary>
    public static JsonObject Json(bool mergesAsStrings = false)
    {
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++)
            vocab[ByteLevelAlphabet.Of((byte)b).ToString()] = b;
        string[][] merges = [["h", "e"], ["l", "l"], ["he", "ll"], ["hell", "o"], ["Ġ", "w"]];
        int next = 256;
        foreach (var m in merges)
            vocab[m[0] + m[1]] = next++;
        var mergeArray = new JsonArray(merges.Select(m => mergesAsStrings ? (JsonNode)JsonValue.Create($"{m[0]} {m[1]}") : new JsonArray(m[0], m[1])).ToArray());
        return new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(
                new JsonObject { ["id"] = next, ["content"] = "<|endoftext|>", ["special"] = true },
                new JsonObject { ["id"] = next + 1, ["content"] = "<|im_start|>", ["special"] = true },
                new JsonObject { ["id"] = next + 2, ["content"] = "<|im_end|>", ["special"] = true }),
            ["normalizer"] = new JsonObject { ["type"] = "NFC" },
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = TokenizerSpec.QwenSplitPattern }, ["behavior"] = "Isolated", ["invert"] = false },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = false }),
            },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel" },
            ["model"] = new JsonObject { ["type"] = "BPE", ["dropout"] = null, ["vocab"] = vocab, ["merges"] = mergeArray },
        };
    }


    /// <summary>A fresh folder with this tokenizer.json and the given extra files.</summary>
    public static string FolderWith(params (string Name, string Json)[] files)
    {
        string dir = TreePO.Testing.ScratchFolders.Create("treepo-tok-").FullName;
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), Json().ToJsonString());
        foreach (var (name, json) in files)
            File.WriteAllText(Path.Combine(dir, name), json);
        return dir;
    }
}
