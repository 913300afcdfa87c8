using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace TreePO.Engine.Model;

/// <summary>
/// A Hugging Face Qwen2 <c>config.json</c>, typed. Field names on disk are HF's (snake_case); <see cref="Parse"/>
/// names the file and the field of any bad value, and <see cref="ToJson"/> writes a file HF tools load.
/// </summary>
public sealed record Qwen2Config
{
    public const string Architecture = "Qwen2ForCausalLM";

    public int VocabSize { get; init; } = 151936;
    public int HiddenSize { get; init; } = 896;
    public int IntermediateSize { get; init; } = 4864;
    public int NumHiddenLayers { get; init; } = 24;
    public int NumAttentionHeads { get; init; } = 14;
    public int NumKeyValueHeads { get; init; } = 2;
    public int MaxPositionEmbeddings { get; init; } = 32768;
    public double RmsNormEps { get; init; } = 1e-6;
    public double RopeTheta { get; init; } = 1_000_000;
    public bool TieWordEmbeddings { get; init; } = true;
    public double InitializerRange { get; init; } = 0.02;
    public int? BosTokenId { get; init; }
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    public int HeadDim => HiddenSize / NumAttentionHeads;
    public int KvGroups => NumAttentionHeads / NumKeyValueHeads;

    /// <summary>K and V of one token over all layers, in bytes, held as <paramref name="dtype"/> (fp32 or bf16).</summary>
    public long KvBytesPerToken(ScalarType dtype) => 2L * NumHiddenLayers * NumKeyValueHeads * HeadDim * dtype switch
    {
        ScalarType.Float32 => 4,
        ScalarType.BFloat16 or ScalarType.Float16 => 2,
        _ => throw new ArgumentException($"no K/V cache of {dtype}: float32 or bfloat16", nameof(dtype)),
    };

    /// <summary>Qwen2.5-0.5B's shapes (its weights are not available here; benchmarks fill them at random).</summary>
    public static Qwen2Config Qwen25_0_5B { get; } = new() { EosTokenIds = [151643, 151645], BosTokenId = 151643 };

    /// <summary>A tiny configuration for tests: GQA (4 heads over 2 KV heads), a few hundred ids.</summary>
    public static Qwen2Config Tiny(bool tied = true) => new()
    {
        VocabSize = 300, HiddenSize = 64, IntermediateSize = 128, NumHiddenLayers = 2, NumAttentionHeads = 4,
        NumKeyValueHeads = 2, MaxPositionEmbeddings = 512, RopeTheta = 10000, TieWordEmbeddings = tied,
        InitializerRange = 0.1, EosTokenIds = [299], BosTokenId = 298,
    };

    /// <summary>Throws an <see cref="InvalidDataException"/> naming <paramref name="source"/> and the bad field.</summary>
    public void Validate(string source = "config")
    {
        void Positive(int v, string field)
        {
            if (v <= 0) throw Bad(source, field, $"must be positive, got {v}");
        }
        Positive(VocabSize, "vocab_size");
        Positive(HiddenSize, "hidden_size");
        Positive(IntermediateSize, "intermediate_size");
        Positive(NumHiddenLayers, "num_hidden_layers");
        Positive(NumAttentionHeads, "num_attention_heads");
        Positive(NumKeyValueHeads, "num_key_value_heads");
        Positive(MaxPositionEmbeddings, "max_position_embeddings");
        if (HiddenSize % NumAttentionHeads != 0)
            throw Bad(source, "hidden_size", $"{HiddenSize} is not divisible by num_attention_heads {NumAttentionHeads}");
        if (HeadDim % 2 != 0) throw Bad(source, "hidden_size", $"head dimension {HeadDim} must be even for rotary embeddings");
        if (NumAttentionHeads % NumKeyValueHeads != 0)
            throw Bad(source, "num_key_value_heads", $"{NumKeyValueHeads} does not divide num_attention_heads {NumAttentionHeads}");
        if (!(RmsNormEps > 0)) throw Bad(source, "rms_norm_eps", $"must be positive, got {RmsNormEps}");
        if (!(RopeTheta > 0)) throw Bad(source, "rope_theta", $"must be positive, got {RopeTheta}");
        foreach (int id in EosTokenIds)
            if (id < 0 || id >= VocabSize) throw Bad(source, "eos_token_id", $"{id} is outside the vocabulary [0, {VocabSize})");
    }

    public static Qwen2Config Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"model config not found: {path}", path);
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses a config.json text. Unknown fields are ignored; fields whose value would change the
    /// architecture in ways this engine does not implement (sliding window, rope scaling, another activation) fail.</summary>
    public static Qwen2Config Parse(string json, string source = "config.json")
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json) as JsonObject ?? throw Bad(source, "(root)", "is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: not valid JSON: {e.Message}", e);
        }

        var archs = root["architectures"] as JsonArray;
        string[] names = archs?.Select(a => a?.GetValue<string>() ?? "").ToArray() ?? [];
        if (!names.Contains(Architecture))
            throw Bad(source, "architectures",
                $"is [{string.Join(", ", names)}]; this engine implements only {Architecture}");

        string act = Str(root, source, "hidden_act") ?? "silu";
        if (act != "silu") throw Bad(source, "hidden_act", $"'{act}' is not supported (only silu)");
        if (Bool(root, source, "use_sliding_window") == true)
            throw Bad(source, "use_sliding_window", "true is not supported");
        if (root["rope_scaling"] is JsonObject rs)
        {
            string? type = rs["rope_type"]?.ToString() ?? rs["type"]?.ToString();
            if (type is not null && type != "default")
                throw Bad(source, "rope_scaling", $"type '{type}' is not supported");
        }
        // transformers >= 5 moves rope_theta into rope_parameters; reading only the old key would silently fall
        // back to a default theta and give wrong logits.
        double? ropeTheta = Num(root, source, "rope_theta");
        if (root["rope_parameters"] is JsonObject rp)
        {
            string? type = rp["rope_type"]?.ToString();
            if (type is not null && type != "default")
                throw Bad(source, "rope_parameters.rope_type", $"'{type}' is not supported");
            ropeTheta ??= Num(rp, source + ": rope_parameters", "rope_theta");
        }
        if (root["layer_types"] is JsonArray layerTypes && layerTypes.Any(t => t?.ToString() != "full_attention"))
            throw Bad(source, "layer_types", "only full_attention layers are supported");

        var defaults = new Qwen2Config();
        int heads = Int(root, source, "num_attention_heads") ?? defaults.NumAttentionHeads;
        var config = new Qwen2Config
        {
            VocabSize = Int(root, source, "vocab_size") ?? defaults.VocabSize,
            HiddenSize = Int(root, source, "hidden_size") ?? defaults.HiddenSize,
            IntermediateSize = Int(root, source, "intermediate_size") ?? defaults.IntermediateSize,
            NumHiddenLayers = Int(root, source, "num_hidden_layers") ?? defaults.NumHiddenLayers,
            NumAttentionHeads = heads,
            NumKeyValueHeads = Int(root, source, "num_key_value_heads") ?? heads,
            MaxPositionEmbeddings = Int(root, source, "max_position_embeddings") ?? defaults.MaxPositionEmbeddings,
            RmsNormEps = Num(root, source, "rms_norm_eps") ?? 1e-6,
            RopeTheta = ropeTheta ?? 10000,
            // HF's Qwen2Config defaults to untied; Qwen2.5 small models set it true explicitly.
            TieWordEmbeddings = Bool(root, source, "tie_word_embeddings") ?? false,
            InitializerRange = Num(root, source, "initializer_range") ?? 0.02,
            BosTokenId = Int(root, source, "bos_token_id"),
            EosTokenIds = TokenIds(root, source, "eos_token_id"),
        };
        if (root["head_dim"] is not null && Int(root, source, "head_dim") != config.HeadDim)
            throw Bad(source, "head_dim", $"{root["head_dim"]} differs from hidden_size / num_attention_heads = {config.HeadDim}");
        config.Validate(source);
        return config;
    }

    /// <summary>The config.json text HF's <c>AutoModelForCausalLM</c> accepts for this model.</summary>
    public string ToJson()
    {
        var o = new JsonObject
        {
            ["architectures"] = new JsonArray(Architecture),
            ["model_type"] = "qwen2",
            ["vocab_size"] = VocabSize,
            ["hidden_size"] = HiddenSize,
            ["intermediate_size"] = IntermediateSize,
            ["num_hidden_layers"] = NumHiddenLayers,
            ["num_attention_heads"] = NumAttentionHeads,
            ["num_key_value_heads"] = NumKeyValueHeads,
            ["max_position_embeddings"] = MaxPositionEmbeddings,
            ["rms_norm_eps"] = RmsNormEps,
            ["rope_theta"] = RopeTheta,
            ["tie_word_embeddings"] = TieWordEmbeddings,
            ["initializer_range"] = InitializerRange,
            ["hidden_act"] = "silu",
            ["attention_dropout"] = 0.0,
            ["use_sliding_window"] = false,
            ["sliding_window"] = MaxPositionEmbeddings,
            ["max_window_layers"] = NumHiddenLayers,
            ["rope_scaling"] = null,
            ["use_cache"] = true,
            ["torch_dtype"] = "float32",
        };
        if (BosTokenId is int bos) o["bos_token_id"] = bos;
        if (EosTokenIds.Count == 1) o["eos_token_id"] = EosTokenIds[0];
        else if (EosTokenIds.Count > 1) o["eos_token_id"] = new JsonArray(EosTokenIds.Select(i => (JsonNode)i).ToArray());
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Reads an <c>eos_token_id</c>-style field: absent, null, an int, or a list of ints.</summary>
    public static IReadOnlyList<int> TokenIds(JsonObject root, string source, string field)
    {
        JsonNode? n = root[field];
        if (n is null) return [];
        if (n is JsonArray a)
            return a.Select((x, i) => x is JsonValue v && v.TryGetValue(out int id)
                ? id : throw Bad(source, $"{field}[{i}]", $"is not an integer: {x?.ToJsonString() ?? "null"}")).ToArray();
        if (n is JsonValue single && single.TryGetValue(out int one)) return [one];
        throw Bad(source, field, $"must be an integer or a list of integers, got {n.ToJsonString()}");
    }

    static int? Int(JsonObject root, string source, string field)
    {
        JsonNode? n = root[field];
        if (n is null) return null;
        if (n is JsonValue v && v.TryGetValue(out int i)) return i;
        if (n is JsonValue d && d.TryGetValue(out double x) && x == Math.Floor(x) && Math.Abs(x) < int.MaxValue) return (int)x;
        throw Bad(source, field, $"must be an integer, got {n.ToJsonString()}");
    }

    static double? Num(JsonObject root, string source, string field)
    {
        JsonNode? n = root[field];
        if (n is null) return null;
        if (n is JsonValue v && v.TryGetValue(out double d)) return d;
        throw Bad(source, field, $"must be a number, got {n.ToJsonString()}");
    }

    static bool? Bool(JsonObject root, string source, string field)
    {
        JsonNode? n = root[field];
        if (n is null) return null;
        if (n is JsonValue v && v.TryGetValue(out bool b)) return b;
        throw Bad(source, field, $"must be true or false, got {n.ToJsonString()}");
    }

    static string? Str(JsonObject root, string source, string field)
    {
        JsonNode? n = root[field];
        if (n is null) return null;
        if (n is JsonValue v && v.TryGetValue(out string? s)) return s;
        throw Bad(source, field, $"must be a string, got {n.ToJsonString()}");
    }

    static InvalidDataException Bad(string source, string field, string what) => new($"{source}: '{field}' {what}");
}
