using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace TreePO.Engine.Tokenizer;

/// <summary>
/// What a Hugging Face <c>tokenizer.json</c> for byte-level BPE says: vocabulary, merges (read as "a b" strings or
/// ["a","b"] pairs), added tokens, the pre-tokenizer's split regex and the Unicode normalization. Anything that this
/// loader would otherwise get silently wrong (another model type, dropout, a non byte-level decoder) is refused with
/// an error that names the file and the field.
/// </summary>
public sealed record TokenizerSpec(
    IReadOnlyDictionary<string, int> Vocab,
    IReadOnlyList<(string Left, string Right)> Merges,
    IReadOnlyList<AddedToken> AddedTokens,
    string SplitPattern,
    NormalizationForm? Normalization)
{
    /// <summary>The split regex of Qwen2, Qwen2.5 and Qwen3 (HF <c>tokenization_qwen2.py</c>; digits one by one).</summary>
    public const string QwenSplitPattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>GPT-2's split regex, which a ByteLevel pre-tokenizer with <c>use_regex: true</c> applies.</summary>
    public const string Gpt2SplitPattern =
        @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    public static TokenizerSpec Read(string path)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON: {e.Message}", e);
        }
        using (doc)
            return new Reader(path).Read(doc.RootElement);
    }

    /// <summary>Writes the file in the layout of the Qwen tokenizers (merges as pairs), readable by HF tokenizers.</summary>
    public void Write(string path)
    {
        using var stream = File.Create(path);
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
        w.WriteString("version", "1.0");
        w.WriteNull("truncation");
        w.WriteNull("padding");
        w.WriteStartArray("added_tokens");
        foreach (var t in AddedTokens.OrderBy(t => t.Id))
        {
            w.WriteStartObject();
            w.WriteNumber("id", t.Id);
            w.WriteString("content", t.Content);
            w.WriteBoolean("single_word", false);
            w.WriteBoolean("lstrip", false);
            w.WriteBoolean("rstrip", false);
            w.WriteBoolean("normalized", false);
            w.WriteBoolean("special", t.Special);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (Normalization is { } form)
        {
            w.WriteStartObject("normalizer");
            w.WriteString("type", NormalizerName(form));
            w.WriteEndObject();
        }
        else
            w.WriteNull("normalizer");
        w.WriteStartObject("pre_tokenizer");
        w.WriteString("type", "Sequence");
        w.WriteStartArray("pretokenizers");
        w.WriteStartObject();
        w.WriteString("type", "Split");
        w.WriteStartObject("pattern");
        w.WriteString("Regex", SplitPattern);
        w.WriteEndObject();
        w.WriteString("behavior", "Isolated");
        w.WriteBoolean("invert", false);
        w.WriteEndObject();
        WriteByteLevel(w, null);
        w.WriteEndArray();
        w.WriteEndObject();
        WriteByteLevel(w, "post_processor");
        WriteByteLevel(w, "decoder");
        w.WriteStartObject("model");
        w.WriteString("type", "BPE");
        w.WriteNull("dropout");
        w.WriteNull("unk_token");
        w.WriteString("continuing_subword_prefix", "");
        w.WriteString("end_of_word_suffix", "");
        w.WriteBoolean("fuse_unk", false);
        w.WriteBoolean("byte_fallback", false);
        w.WriteBoolean("ignore_merges", false);
        w.WriteStartObject("vocab");
        foreach (var (token, id) in Vocab.OrderBy(kv => kv.Value))
            w.WriteNumber(token, id);
        w.WriteEndObject();
        w.WriteStartArray("merges");
        foreach (var (left, right) in Merges)
        {
            w.WriteStartArray();
            w.WriteStringValue(left);
            w.WriteStringValue(right);
            w.WriteEndArray();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    static void WriteByteLevel(Utf8JsonWriter w, string? name)
    {
        if (name is null)
            w.WriteStartObject();
        else
            w.WriteStartObject(name);
        w.WriteString("type", "ByteLevel");
        w.WriteBoolean("add_prefix_space", false);
        w.WriteBoolean("trim_offsets", false);
        w.WriteBoolean("use_regex", false);
        w.WriteEndObject();
    }

    static string NormalizerName(NormalizationForm form) => form switch
    {
        NormalizationForm.FormC => "NFC",
        NormalizationForm.FormD => "NFD",
        NormalizationForm.FormKC => "NFKC",
        NormalizationForm.FormKD => "NFKD",
        _ => throw new ArgumentOutOfRangeException(nameof(form)),
    };

    /// <summary>Parses one file; every error names the file and the JSON path of the field.</summary>
    sealed class Reader(string path)
    {
        InvalidDataException Bad(string field, string problem) => new($"{path}: field '{field}': {problem}");

        public TokenizerSpec Read(JsonElement root)
        {
            if (root.ValueKind != JsonValueKind.Object)
                throw Bad("$", "the file must hold a JSON object");
            JsonElement model = Required(root, "model", JsonValueKind.Object, "model");
            string? type = OptionalString(model, "type", "model.type");
            if (type is not null && type != "BPE")
                throw Bad("model.type", $"'{type}' is not supported; only byte-level BPE ('BPE') is");
            RequireFalsy(model, "byte_fallback", "model.byte_fallback");
            RequireFalsy(model, "ignore_merges", "model.ignore_merges");
            if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() != 0)
                throw Bad("model.dropout", "BPE dropout is not supported at inference");
            RequireEmpty(model, "continuing_subword_prefix", "model.continuing_subword_prefix");
            RequireEmpty(model, "end_of_word_suffix", "model.end_of_word_suffix");

            var vocab = ReadVocab(Required(model, "vocab", JsonValueKind.Object, "model.vocab"));
            var merges = ReadMerges(Required(model, "merges", JsonValueKind.Array, "model.merges"), vocab);
            var added = ReadAddedTokens(root);
            string pattern = ReadSplitPattern(root);
            RequireByteLevelDecoder(root);
            return new TokenizerSpec(vocab, merges, added, pattern, ReadNormalizer(root));
        }

        Dictionary<string, int> ReadVocab(JsonElement vocab)
        {
            var result = new Dictionary<string, int>(StringComparer.Ordinal);
            var seen = new HashSet<int>();
            foreach (var p in vocab.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int id) || id < 0)
                    throw Bad($"model.vocab[\"{p.Name}\"]", "the id must be a non-negative integer");
                if (!seen.Add(id))
                    throw Bad($"model.vocab[\"{p.Name}\"]", $"id {id} is given to two tokens");
                result[p.Name] = id;
            }
            if (result.Count == 0)
                throw Bad("model.vocab", "the vocabulary is empty");
            return result;
        }

        List<(string, string)> ReadMerges(JsonElement merges, Dictionary<string, int> vocab)
        {
            var result = new List<(string, string)>(merges.GetArrayLength());
            int i = 0;
            foreach (var m in merges.EnumerateArray())
            {
                string field = $"model.merges[{i}]";
                (string a, string b) pair;
                if (m.ValueKind == JsonValueKind.String)
                {
                    // Older files: "a b". Byte-level tokens never hold a space (it is 'Ġ'), so one space separates.
                    string s = m.GetString()!;
                    int space = s.IndexOf(' ');
                    if (space <= 0 || space == s.Length - 1 || s.IndexOf(' ', space + 1) >= 0)
                        throw Bad(field, $"\"{s}\" is not two tokens separated by one space");
                    pair = (s[..space], s[(space + 1)..]);
                }
                else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2
                    && m[0].ValueKind == JsonValueKind.String && m[1].ValueKind == JsonValueKind.String)
                {
                    pair = (m[0].GetString()!, m[1].GetString()!);
                    if (pair.a.Contains(' ') || pair.b.Contains(' '))
                        throw Bad(field, "a byte-level token cannot contain a space");
                }
                else
                    throw Bad(field, "a merge must be a string \"a b\" or a pair [\"a\", \"b\"]");
                foreach (string part in new[] { pair.a, pair.b, pair.a + pair.b })
                    if (!vocab.ContainsKey(part))
                        throw Bad(field, $"'{part}' is not in model.vocab");
                result.Add(pair);
                i++;
            }
            return result;
        }

        List<AddedToken> ReadAddedTokens(JsonElement root)
        {
            var result = new List<AddedToken>();
            if (!root.TryGetProperty("added_tokens", out var list) || list.ValueKind == JsonValueKind.Null)
                return result;
            if (list.ValueKind != JsonValueKind.Array)
                throw Bad("added_tokens", "must be an array");
            int i = 0;
            foreach (var t in list.EnumerateArray())
            {
                string field = $"added_tokens[{i++}]";
                if (t.ValueKind != JsonValueKind.Object)
                    throw Bad(field, "must be an object");
                if (!t.TryGetProperty("id", out var idEl) || !idEl.TryGetInt32(out int id) || id < 0)
                    throw Bad(field + ".id", "must be a non-negative integer");
                if (!t.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String || content.GetString()!.Length == 0)
                    throw Bad(field + ".content", "must be a non-empty string");
                bool special = t.TryGetProperty("special", out var sp) && sp.ValueKind == JsonValueKind.True;
                result.Add(new AddedToken(id, content.GetString()!, special));
            }
            return result;
        }

        string ReadSplitPattern(JsonElement root)
        {
            JsonElement pre = Required(root, "pre_tokenizer", JsonValueKind.Object, "pre_tokenizer");
            string type = OptionalString(pre, "type", "pre_tokenizer.type") ?? "";
            if (type == "ByteLevel")
            {
                if (!Truthy(pre, "use_regex", defaultValue: true))
                    throw Bad("pre_tokenizer.use_regex", "a ByteLevel pre-tokenizer without a regex never splits words; not supported");
                RequireFalsy(pre, "add_prefix_space", "pre_tokenizer.add_prefix_space");
                return Gpt2SplitPattern;
            }
            if (type != "Sequence")
                throw Bad("pre_tokenizer.type", $"'{type}' is not supported; expected ByteLevel or Sequence[Split, ByteLevel]");
            JsonElement steps = Required(pre, "pretokenizers", JsonValueKind.Array, "pre_tokenizer.pretokenizers");
            if (steps.GetArrayLength() != 2)
                throw Bad("pre_tokenizer.pretokenizers", "expected exactly [Split, ByteLevel]");
            JsonElement split = steps[0], byteLevel = steps[1];
            if (OptionalString(split, "type", "pre_tokenizer.pretokenizers[0].type") != "Split")
                throw Bad("pre_tokenizer.pretokenizers[0].type", "expected Split");
            if (OptionalString(byteLevel, "type", "pre_tokenizer.pretokenizers[1].type") != "ByteLevel")
                throw Bad("pre_tokenizer.pretokenizers[1].type", "expected ByteLevel");
            if (Truthy(byteLevel, "use_regex", defaultValue: true))
                throw Bad("pre_tokenizer.pretokenizers[1].use_regex", "a second regex split after Split is not supported");
            RequireFalsy(byteLevel, "add_prefix_space", "pre_tokenizer.pretokenizers[1].add_prefix_space");
            string behavior = OptionalString(split, "behavior", "pre_tokenizer.pretokenizers[0].behavior") ?? "";
            if (behavior != "Isolated")
                throw Bad("pre_tokenizer.pretokenizers[0].behavior", $"'{behavior}' is not supported; expected Isolated");
            RequireFalsy(split, "invert", "pre_tokenizer.pretokenizers[0].invert");
            JsonElement pattern = Required(split, "pattern", JsonValueKind.Object, "pre_tokenizer.pretokenizers[0].pattern");
            string? regex = OptionalString(pattern, "Regex", "pre_tokenizer.pretokenizers[0].pattern.Regex");
            string? literal = OptionalString(pattern, "String", "pre_tokenizer.pretokenizers[0].pattern.String");
            string result = regex ?? (literal is not null ? System.Text.RegularExpressions.Regex.Escape(literal)
                : throw Bad("pre_tokenizer.pretokenizers[0].pattern", "expected a Regex or String entry"));
            try
            {
                _ = new System.Text.RegularExpressions.Regex(result);
            }
            catch (ArgumentException e)
            {
                throw Bad("pre_tokenizer.pretokenizers[0].pattern.Regex", $"the .NET regex engine does not accept it: {e.Message}");
            }
            return result;
        }

        void RequireByteLevelDecoder(JsonElement root)
        {
            JsonElement dec = Required(root, "decoder", JsonValueKind.Object, "decoder");
            string? type = OptionalString(dec, "type", "decoder.type");
            bool ok = type == "ByteLevel" || (type == "Sequence" && dec.TryGetProperty("decoders", out var ds)
                && ds.ValueKind == JsonValueKind.Array
                && ds.EnumerateArray().Any(d => d.ValueKind == JsonValueKind.Object && d.TryGetProperty("type", out var t) && t.ValueEquals("ByteLevel")));
            if (!ok)
                throw Bad("decoder.type", $"'{type}' is not supported; a byte-level BPE needs the ByteLevel decoder");
        }

        NormalizationForm? ReadNormalizer(JsonElement root)
        {
            if (!root.TryGetProperty("normalizer", out var n) || n.ValueKind == JsonValueKind.Null)
                return null;
            if (n.ValueKind != JsonValueKind.Object)
                throw Bad("normalizer", "must be an object or null");
            string? type = OptionalString(n, "type", "normalizer.type");
            if (type == "Sequence")
            {
                JsonElement list = Required(n, "normalizers", JsonValueKind.Array, "normalizer.normalizers");
                return list.GetArrayLength() switch
                {
                    0 => null,
                    1 => Form(OptionalString(list[0], "type", "normalizer.normalizers[0].type"), "normalizer.normalizers[0].type"),
                    _ => throw Bad("normalizer.normalizers", "a sequence of more than one normalizer is not supported"),
                };
            }
            return Form(type, "normalizer.type");
        }

        NormalizationForm Form(string? type, string field) => type switch
        {
            "NFC" => NormalizationForm.FormC,
            "NFD" => NormalizationForm.FormD,
            "NFKC" => NormalizationForm.FormKC,
            "NFKD" => NormalizationForm.FormKD,
            _ => throw Bad(field, $"'{type}' is not supported; expected NFC, NFD, NFKC, NFKD or none"),
        };

        JsonElement Required(JsonElement obj, string name, JsonValueKind kind, string field)
        {
            if (!obj.TryGetProperty(name, out var v))
                throw Bad(field, "missing");
            if (v.ValueKind != kind)
                throw Bad(field, $"expected {kind.ToString().ToLowerInvariant()}, found {v.ValueKind.ToString().ToLowerInvariant()}");
            return v;
        }

        string? OptionalString(JsonElement obj, string name, string field)
        {
            if (obj.ValueKind != JsonValueKind.Object || !obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
                return null;
            if (v.ValueKind != JsonValueKind.String)
                throw Bad(field, "expected a string");
            return v.GetString();
        }

        static bool Truthy(JsonElement obj, string name, bool defaultValue) =>
            obj.TryGetProperty(name, out var v) ? v.ValueKind == JsonValueKind.True : defaultValue;

        void RequireFalsy(JsonElement obj, string name, string field)
        {
            if (obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True)
                throw Bad(field, "true is not supported");
        }

        void RequireEmpty(JsonElement obj, string name, string field)
        {
            if (obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString()!.Length > 0)
                throw Bad(field, "a subword prefix or suffix is not supported for byte-level BPE");
        }
    }
}
