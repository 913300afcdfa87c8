using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using TreePO.Engine.Checkpoint;
using TreePO.Engine.Model;
using TreePO.Engine.Native;

namespace TreePO.Engine.Tests.Checkpoint;

/// <summary>
/// A damaged model folder fails to load with an error that names the file and says what is wrong: truncated weights
/// (inside the data, inside the header, before the header length), a header that is not JSON, a tensor missing, a
/// shape that does not match the config, a dtype that is unknown. The same checks guard a weight stream.
/// </summary>
public sealed class DamagedModelFolderTests
{
    public DamagedModelFolderTests() => TorchRuntime.EnsureLoaded();

    static string Weights(string dir) => Path.Combine(dir, Qwen2Checkpoint.WeightsFile);

    static InvalidDataException LoadFails(string dir) => Assert.Throws<InvalidDataException>(() => Qwen2Checkpoint.Load(dir).Dispose());

    /// <summary>Splits a safetensors file into its JSON header and its data.</summary>
    static (JsonObject Header, byte[] Data) Split(string file)
    {
        byte[] all = File.ReadAllBytes(file);
        int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(all);
        return ((JsonObject)JsonNode.Parse(Encoding.UTF8.GetString(all, 8, length))!, all[(8 + length)..]);
    }

    static void Join(string file, string header, byte[] data)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Length);
        File.WriteAllBytes(file, bytes);
    }

    [Theory]
    [InlineData(0.5)]     // inside the data
    [InlineData(0.999)]   // the last few bytes
    public void Truncated_weights_name_the_file_the_tensor_and_the_missing_bytes(double keep)
    {
        string dir = TestModels.WriteTiny();
        string file = Weights(dir);
        long full = new FileInfo(file).Length;
        using (var f = File.OpenWrite(file)) f.SetLength((long)(full * keep));

        var e = LoadFails(dir);
        Assert.Contains(file, e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.Contains($"{full - (long)(full * keep)} bytes missing", e.Message);
        Assert.Matches("tensor '[^']+' ends at byte", e.Message);
    }

    [Fact]
    public void Weights_cut_inside_the_header_or_its_length_are_named_as_truncated()
    {
        string dir = TestModels.WriteTiny();
        string file = Weights(dir);
        using (var f = File.OpenWrite(file)) f.SetLength(100);
        var e = LoadFails(dir);
        Assert.Contains(file, e.Message);
        Assert.Contains("truncated: its header should be", e.Message);

        using (var f = File.OpenWrite(file)) f.SetLength(5);
        e = LoadFails(dir);
        Assert.Contains(file, e.Message);
        Assert.Contains("5 bytes, shorter than the 8-byte header length", e.Message);
    }

    [Fact]
    public void Header_that_is_not_json_is_named()
    {
        string dir = TestModels.WriteTiny();
        var (header, data) = Split(Weights(dir));
        Join(Weights(dir), header.ToJsonString()[..^10] + "}} garbage", data);

        var e = LoadFails(dir);
        Assert.Contains(Weights(dir), e.Message);
        Assert.Contains("the safetensors header is not JSON", e.Message);

        Join(Weights(dir), "[1, 2, 3]", data);
        e = LoadFails(dir);
        Assert.Contains(Weights(dir), e.Message);
        Assert.Contains("header is a JSON Array, not an object of tensors", e.Message);

        Join(Weights(dir), """{"model.norm.weight": {"dtype": "F32", "shape": [64]}}""", data);
        e = LoadFails(dir);
        Assert.Contains(Weights(dir), e.Message);
        Assert.Contains("bad safetensors header entry for tensor 'model.norm.weight'", e.Message);
    }

    [Fact]
    public void Missing_tensor_is_named_with_the_file()
    {
        string dir = TestModels.WriteTiny();
        var (header, data) = Split(Weights(dir));
        header.Remove("model.layers.0.self_attn.q_proj.weight");
        Join(Weights(dir), header.ToJsonString(), data);

        var e = LoadFails(dir);
        Assert.Contains(Weights(dir), e.Message);
        Assert.Contains("missing key 'model.layers.0.self_attn.q_proj.weight'", e.Message);
    }

    [Fact]
    public void Shape_mismatch_names_the_file_the_tensor_and_both_shapes()
    {
        string dir = TestModels.WriteTiny();
        var (header, data) = Split(Weights(dir));
        // Same byte count, another shape: only the shape check can catch it.
        header["model.norm.weight"]!["shape"] = new JsonArray(8, 8);
        Join(Weights(dir), header.ToJsonString(), data);

        var e = LoadFails(dir);
        Assert.Contains(Weights(dir), e.Message);
        Assert.Contains("'model.norm.weight' has shape [8, 8], the config implies [64]", e.Message);
    }

    [Theory]
    [InlineData("F8_Q9")]   // no such dtype
    [InlineData("I32")]     // a dtype, but not a weight's
    public void Unknown_dtype_names_the_file_the_tensor_and_the_dtype(string dtype)
    {
        string dir = TestModels.WriteTiny();
        var (header, data) = Split(Weights(dir));
        header["model.norm.weight"]!["dtype"] = dtype;
        Join(Weights(dir), header.ToJsonString(), data);

        var e = LoadFails(dir);
        Assert.Contains(Weights(dir), e.Message);
        Assert.Contains($"'model.norm.weight' has dtype '{dtype}', not a floating-point safetensors dtype", e.Message);
    }

    [Fact]
    public void Truncated_weight_stream_is_named_by_its_source()
    {
        string dir = TestModels.WriteTiny();
        byte[] bytes = File.ReadAllBytes(Weights(dir));
        using var model = Qwen2Model.Random(Qwen2Config.Tiny(), 3);
        using var stream = new MemoryStream(bytes[..(bytes.Length - 40)]);
        var e = Assert.Throws<InvalidDataException>(() => Qwen2Checkpoint.LoadWeights(model, stream, "update from trainer/x"));
        Assert.Contains("update from trainer/x: truncated", e.Message);
        Assert.Contains("40 bytes missing", e.Message);
    }
}
