using System.Text.Encodings.Web;
using System.Text.Json;

namespace TreePO.Engine.Tokenizer;

/// <summary>
/// The small JSON side files of a Hugging Face model folder that the tokenizer needs: the special token names in
/// tokenizer_config.json and the <c>eos_token_id</c> (an int or a list) of generation_config.json and config.json.
/// </summary>
public static class ModelFiles
{
    /// <summary>The named token of tokenizer_config.json (<c>"eos_token": "x"</c> or <c>{"content": "x"}</c>), or null.</summary>
    public static string? TokenName(string tokenizerConfigPath, string field)
    {
        if (!File.Exists(tokenizerConfigPath))
            return null;
        using var doc = Parse(tokenizerConfigPath);
        if (!doc.RootElement.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null)
            return null;
        if (v.ValueKind == JsonValueKind.String)
            return v.GetString();
        if (v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String)
            return c.GetString();
        throw new InvalidDataException($"{tokenizerConfigPath}: field '{field}': expected a string or an object with 'content'");
    }

    /// <summary>The <c>eos_token_id</c> entries of a config file (absent file or field: none).</summary>
    public static IEnumerable<int> EosTokenIds(string configPath)
    {
        if (!File.Exists(configPath))
            return [];
        using var doc = Parse(configPath);
        if (!doc.RootElement.TryGetProperty("eos_token_id", out var v) || v.ValueKind == JsonValueKind.Null)
            return [];
        if (v.ValueKind == JsonValueKind.Number)
            return [Id(v, configPath, "eos_token_id")];
        if (v.ValueKind == JsonValueKind.Array)
            return v.EnumerateArray().Select((e, i) => Id(e, configPath, $"eos_token_id[{i}]")).ToArray();
        throw new InvalidDataException($"{configPath}: field 'eos_token_id': expected an integer or a list of integers");
    }

    /// <summary>
    /// Writes a Qwen2-style tokenizer_config.json: the added tokens, EOS and pad token names, and a ChatML chat
    /// template (the format of <see cref="ChatFormat"/>), so HF tools read the folder as a Qwen2 tokenizer.
    /// </summary>
    public static void WriteTokenizerConfig(string path, IEnumerable<AddedToken> addedTokens, string eosToken, string padToken, int modelMaxLength)
    {
        var added = addedTokens.OrderBy(t => t.Id).ToList();
        foreach (string name in new[] { eosToken, padToken })
            if (!added.Any(t => t.Content == name))
                throw new ArgumentException($"'{name}' is not an added token");
        using var stream = File.Create(path);
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
        w.WriteBoolean("add_bos_token", false);
        w.WriteBoolean("add_prefix_space", false);
        w.WriteStartObject("added_tokens_decoder");
        foreach (var t in added)
        {
            w.WriteStartObject(t.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("content", t.Content);
            w.WriteBoolean("lstrip", false);
            w.WriteBoolean("normalized", false);
            w.WriteBoolean("rstrip", false);
            w.WriteBoolean("single_word", false);
            w.WriteBoolean("special", t.Special);
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteStartArray("additional_special_tokens");
        foreach (var t in added.Where(t => t.Special && t.Content != eosToken && t.Content != padToken))
            w.WriteStringValue(t.Content);
        w.WriteEndArray();
        w.WriteNull("bos_token");
        w.WriteString("chat_template",
            "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}");
        w.WriteBoolean("clean_up_tokenization_spaces", false);
        w.WriteString("eos_token", eosToken);
        w.WriteString("errors", "replace");
        w.WriteNumber("model_max_length", modelMaxLength);
        w.WriteString("pad_token", padToken);
        w.WriteBoolean("split_special_tokens", false);
        w.WriteString("tokenizer_class", "Qwen2Tokenizer");
        w.WriteNull("unk_token");
        w.WriteEndObject();
    }

    static int Id(JsonElement e, string path, string field) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int id) && id >= 0
            ? id
            : throw new InvalidDataException($"{path}: field '{field}': expected a non-negative integer, found {e.GetRawText()}");

    static JsonDocument Parse(string path)
    {
        try
        {
            var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                doc.Dispose();
                throw new InvalidDataException($"{path}: the file must hold a JSON object");
            }
            return doc;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON: {e.Message}", e);
        }
    }
}
