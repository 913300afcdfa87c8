using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.PyBridge;
using TreePO.Engine.Model;
using static TorchSharp.torch;

namespace TreePO.Engine.Checkpoint;

/// <summary>
/// Hugging Face model folders: <c>config.json</c> (+ optional <c>generation_config.json</c>) and weights in
/// <c>model.safetensors</c> or shards listed by <c>model.safetensors.index.json</c>. Loading checks every key, shape
/// and dtype against the model before reading any weight (errors name the key and the file), then reads through
/// TorchSharp.PyBridge, converting each tensor to the model's dtype (fp32, or bf16 for an engine that asks for it: a bf16
/// checkpoint is then kept as it is). Saving writes the same layout in fp32 with HF key names.
/// </summary>
public static class Qwen2Checkpoint
{
    public const string ConfigFile = "config.json";
    public const string GenerationConfigFile = "generation_config.json";
    public const string WeightsFile = "model.safetensors";
    public const string IndexFile = "model.safetensors.index.json";

    static readonly HashSet<string> FloatTypes = ["F32", "F16", "BF16", "F64"];

    /// <summary>Reads config and weights from <paramref name="dir"/>; the config's EOS ids include generation_config's.
    /// The weights are held as <paramref name="dtype"/> (fp32 or bf16) whatever the checkpoint's dtype.</summary>
    public static Qwen2Model Load(string dir, Device? device = null, ScalarType dtype = ScalarType.Float32)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"model folder not found: {dir}");
        var config = Qwen2Config.Load(Path.Combine(dir, ConfigFile));
        config = config with { EosTokenIds = ReadEosTokenIds(dir, config) };
        var model = new Qwen2Model(config, device, dtype);
        try
        {
            LoadWeights(model, dir);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return model;
    }

    /// <summary>The union of <c>eos_token_id</c> in generation_config.json (if present) and in the config.</summary>
    public static IReadOnlyList<int> ReadEosTokenIds(string dir, Qwen2Config config)
    {
        var ids = new SortedSet<int>(config.EosTokenIds);
        string path = Path.Combine(dir, GenerationConfigFile);
        if (File.Exists(path))
        {
            JsonObject root;
            try
            {
                root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object");
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path}: not valid JSON: {e.Message}", e);
            }
            foreach (int id in Qwen2Config.TokenIds(root, path, "eos_token_id"))
            {
                if (id < 0 || id >= config.VocabSize)
                    throw new InvalidDataException($"{path}: 'eos_token_id' {id} is outside the vocabulary [0, {config.VocabSize})");
                ids.Add(id);
            }
        }
        return ids.ToArray();
    }

    /// <summary>Loads the weights of <paramref name="dir"/> into <paramref name="model"/> (all or nothing: every check
    /// runs before the first weight is written).</summary>
    public static void LoadWeights(Qwen2Model model, string dir)
    {
        var files = WeightFiles(dir);
        var entries = files.SelectMany(f => SafetensorsHeader.Read(f).Values.Select(e => (f, e))).ToList();
        var skip = Check(model, entries, indexed: files.Count > 1 || File.Exists(Path.Combine(dir, IndexFile)) ? Path.Combine(dir, IndexFile) : null);
        using var scope = NewDisposeScope();
        foreach (string f in files) model.load_safetensors(f, strict: false, skip: skip);
        model.WeightsChanged();
    }

    /// <summary>Loads one safetensors stream holding the whole state dict (a weight update). A stream that cannot seek
    /// is buffered to a temporary file first.</summary>
    public static void LoadWeights(Qwen2Model model, Stream stream, string source = "weights stream")
    {
        if (!stream.CanSeek)
        {
            string tmp = Path.Combine(Path.GetTempPath(), $"treepo-weights-{Guid.NewGuid():N}.safetensors");
            try
            {
                using (var file = File.Create(tmp)) stream.CopyTo(file);
                using var seekable = File.OpenRead(tmp);
                LoadWeights(model, seekable, source);
            }
            finally
            {
                File.Delete(tmp);
            }
            return;
        }
        long start = stream.Position;
        var header = SafetensorsHeader.Read(stream, source);
        var skip = Check(model, header.Values.Select(e => (source, e)).ToList(), indexed: null);
        stream.Position = start;
        using var scope = NewDisposeScope();
        model.load_safetensors(stream, strict: false, skip: skip, leaveOpen: true);
        model.WeightsChanged();
    }

    static List<string> WeightFiles(string dir)
    {
        string index = Path.Combine(dir, IndexFile);
        if (File.Exists(index))
        {
            JsonObject map;
            try
            {
                map = (JsonNode.Parse(File.ReadAllText(index)) as JsonObject)?["weight_map"] as JsonObject
                    ?? throw new InvalidDataException($"{index}: no 'weight_map' object");
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{index}: not valid JSON: {e.Message}", e);
            }
            var files = map.Select(kv => kv.Value?.GetValue<string>() ?? throw new InvalidDataException($"{index}: '{kv.Key}' maps to null"))
                .Distinct().Select(f => Path.Combine(dir, f)).ToList();
            foreach (string f in files)
                if (!File.Exists(f)) throw new FileNotFoundException($"{index} names a shard that does not exist: {f}", f);
            return files;
        }
        string single = Path.Combine(dir, WeightsFile);
        if (File.Exists(single)) return [single];
        throw new FileNotFoundException($"no weights in {dir}: expected {WeightsFile} or {IndexFile}");
    }

    /// <summary>Checks names, shapes and dtypes against the model; returns the keys to skip (a tied checkpoint's
    /// <c>lm_head.weight</c>, HF's non-persistent rotary buffers).</summary>
    internal static List<string> Check(Qwen2Model model, IReadOnlyList<(string File, SafetensorsEntry Entry)> entries, string? indexed)
    {
        var expected = new Dictionary<string, long[]>();
        foreach (var (name, t) in model.state_dict()) expected[name] = t.shape;
        var seen = new Dictionary<string, string>();
        var skip = new List<string>();
        foreach (var (file, e) in entries)
        {
            if ((e.Name == "lm_head.weight" && model.Config.TieWordEmbeddings) || e.Name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal))
            {
                skip.Add(e.Name);
                continue;
            }
            if (!expected.TryGetValue(e.Name, out long[]? shape))
                throw new InvalidDataException($"{file}: unexpected key '{e.Name}' (not a parameter of a Qwen2 model with this config)");
            if (seen.TryGetValue(e.Name, out string? other))
                throw new InvalidDataException($"key '{e.Name}' appears in both {other} and {file}");
            seen[e.Name] = file;
            if (!shape.SequenceEqual(e.Shape))
                throw new InvalidDataException($"{file}: '{e.Name}' has shape [{string.Join(", ", e.Shape)}], the config implies [{string.Join(", ", shape)}]");
            if (!FloatTypes.Contains(e.DType))
                throw new InvalidDataException($"{file}: '{e.Name}' has dtype '{e.DType}', not a floating-point safetensors dtype ({string.Join(", ", FloatTypes)})");
            long bytes = e.Shape.Aggregate(1L, (a, b) => a * b) * SafetensorsHeader.ElementSize(e.DType);
            if (e.End - e.Begin != bytes)
                throw new InvalidDataException($"{file}: '{e.Name}' spans {e.End - e.Begin} bytes, its shape and dtype need {bytes}");
        }
        var missing = expected.Keys.Where(k => !seen.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException(
                $"{indexed ?? entries.FirstOrDefault().File ?? "checkpoint"}: missing key{(missing.Count > 1 ? "s" : "")} " +
                string.Join(", ", missing.Take(5).Select(k => $"'{k}'")) + (missing.Count > 5 ? $" and {missing.Count - 5} more" : ""));
        return skip;
    }

    /// <summary>Writes <paramref name="model"/> in HF layout (fp32). Above <paramref name="maxShardBytes"/> of weights it
    /// writes shards <c>model-0000i-of-0000n.safetensors</c> and the index.</summary>
    public static void Save(Qwen2Model model, string dir, long maxShardBytes = long.MaxValue)
    {
        Directory.CreateDirectory(dir);
        var config = model.Config;
        File.WriteAllText(Path.Combine(dir, ConfigFile), config.ToJson());
        var gen = new JsonObject();
        if (config.BosTokenId is int bos) gen["bos_token_id"] = bos;
        if (config.EosTokenIds.Count > 0) gen["eos_token_id"] = new JsonArray(config.EosTokenIds.Select(i => (JsonNode)i).ToArray());
        File.WriteAllText(Path.Combine(dir, GenerationConfigFile), gen.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

        foreach (string old in Directory.EnumerateFiles(dir, "model*.safetensors*")) File.Delete(old);
        var tensors = model.state_dict().ToList();
        var shards = new List<List<KeyValuePair<string, Tensor>>> { new() };
        long size = 0, total = 0;
        foreach (var kv in tensors)
        {
            long bytes = kv.Value.NumberOfElements * sizeof(float);
            if (size > 0 && size + bytes > maxShardBytes)
            {
                shards.Add([]);
                size = 0;
            }
            shards[^1].Add(kv);
            size += bytes;
            total += bytes;
        }
        if (shards.Count == 1)
        {
            SafetensorsWriter.Write(Path.Combine(dir, WeightsFile), shards[0]);
            return;
        }
        var map = new JsonObject();
        for (int i = 0; i < shards.Count; i++)
        {
            string name = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
            SafetensorsWriter.Write(Path.Combine(dir, name), shards[i]);
            foreach (var kv in shards[i]) map[kv.Key] = name;
        }
        var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = map };
        File.WriteAllText(Path.Combine(dir, IndexFile), index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Writes a random model of <paramref name="config"/> (see <see cref="Qwen2Model.Random"/>) to
    /// <paramref name="dir"/>: the tiny models of tests, benchmarks and cluster tests.</summary>
    public static void WriteRandom(string dir, Qwen2Config config, ulong seed, long maxShardBytes = long.MaxValue)
    {
        using var model = Qwen2Model.Random(config, seed);
        Save(model, dir, maxShardBytes);
    }

    /// <summary>The model's state dict as one safetensors stream (what a trainer sends to engines).</summary>
    public static void WriteWeights(Qwen2Model model, Stream stream) => SafetensorsWriter.Write(stream, model.state_dict());
}
