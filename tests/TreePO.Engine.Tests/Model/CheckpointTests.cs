using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.PyBridge;
using TreePO.Engine.Checkpoint;
using TreePO.Engine.Model;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Tests.Model;

public sealed class CheckpointTests
{
    public CheckpointTests() => TorchRuntime.EnsureLoaded();

    static Tensor Logits(Qwen2Model m) => m.Forward(TestModels.Ids(TestModels.RandomTokens(12, 9)));

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Saved_model_loads_back_with_the_same_logits(bool tied)
    {
        using var scope = NewDisposeScope();
        using var original = Qwen2Model.Random(Qwen2Config.Tiny(tied), 21);
        string dir = TestModels.TempDir();
        Qwen2Checkpoint.Save(original, dir);
        Assert.True(File.Exists(Path.Combine(dir, "config.json")));
        Assert.True(File.Exists(Path.Combine(dir, "model.safetensors")));
        var header = SafetensorsHeader.Read(Path.Combine(dir, "model.safetensors"));
        Assert.Contains("model.layers.1.self_attn.q_proj.bias", header.Keys);
        Assert.Equal(!tied, header.ContainsKey("lm_head.weight"));
        Assert.All(header.Values, e => Assert.Equal("F32", e.DType));

        using var loaded = Qwen2Checkpoint.Load(dir);
        Assert.Equal(original.Config with { EosTokenIds = loaded.Config.EosTokenIds }, loaded.Config);
        Assert.Equal([299], loaded.Config.EosTokenIds);
        Assert.Equal(0f, TestModels.MaxAbsDiff(Logits(original), Logits(loaded)));
    }

    [Fact]
    public void Sharded_checkpoint_loads_through_its_index()
    {
        using var scope = NewDisposeScope();
        using var original = Qwen2Model.Random(Qwen2Config.Tiny(tied: false), 22);
        string dir = TestModels.TempDir();
        Qwen2Checkpoint.Save(original, dir, maxShardBytes: 60_000);
        Assert.True(File.Exists(Path.Combine(dir, Qwen2Checkpoint.IndexFile)));
        Assert.False(File.Exists(Path.Combine(dir, Qwen2Checkpoint.WeightsFile)));
        Assert.True(Directory.GetFiles(dir, "model-*-of-*.safetensors").Length >= 3);
        using var loaded = Qwen2Checkpoint.Load(dir);
        Assert.Equal(0f, TestModels.MaxAbsDiff(Logits(original), Logits(loaded)));
    }

    [Fact]
    public void Bf16_weights_are_converted_to_fp32()
    {
        using var scope = NewDisposeScope();
        using var original = Qwen2Model.Random(Qwen2Config.Tiny(), 23);
        string dir = TestModels.TempDir();
        Qwen2Checkpoint.Save(original, dir);
        // Overwrite the weights with a bf16 copy written by PyBridge itself.
        using (var bf16 = Qwen2Model.Random(Qwen2Config.Tiny(), 23))
        {
            bf16.to(ScalarType.BFloat16);
            bf16.save_safetensors(Path.Combine(dir, "model.safetensors"));
        }
        Assert.Equal("BF16", SafetensorsHeader.Read(Path.Combine(dir, "model.safetensors"))["model.norm.weight"].DType);
        using var loaded = Qwen2Checkpoint.Load(dir);
        Assert.Equal(ScalarType.Float32, loaded.OutputWeight.dtype);
        float diff = TestModels.MaxAbsDiff(Logits(original), Logits(loaded));
        Assert.True(diff > 0 && diff < 0.05f, $"bf16 rounding should cost a little, not nothing or much: {diff}");
    }

    [Fact]
    public void Wrong_architecture_is_named()
    {
        string dir = TestModels.WriteTiny();
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        cfg["architectures"] = new JsonArray("LlamaForCausalLM");
        File.WriteAllText(Path.Combine(dir, "config.json"), cfg.ToJsonString());
        var e = Assert.Throws<InvalidDataException>(() => Qwen2Checkpoint.Load(dir));
        Assert.Contains("architectures", e.Message);
        Assert.Contains("LlamaForCausalLM", e.Message);
        Assert.Contains("Qwen2ForCausalLM", e.Message);
    }

    [Fact]
    public void Bad_config_field_is_named()
    {
        var e = Assert.Throws<InvalidDataException>(() => Qwen2Config.Parse(
            """{"architectures": ["Qwen2ForCausalLM"], "hidden_size": 64, "num_attention_heads": 5}""", "x/config.json"));
        Assert.Contains("x/config.json", e.Message);
        Assert.Contains("hidden_size", e.Message);
        e = Assert.Throws<InvalidDataException>(() => Qwen2Config.Parse(
            """{"architectures": ["Qwen2ForCausalLM"], "vocab_size": "many"}""", "config.json"));
        Assert.Contains("vocab_size", e.Message);
    }

    [Fact]
    public void Missing_unexpected_and_misshapen_keys_are_named()
    {
        using var scope = NewDisposeScope();
        using var model = Qwen2Model.Random(Qwen2Config.Tiny(), 24);
        string Write(Func<Dictionary<string, Tensor>, Dictionary<string, Tensor>> edit)
        {
            string dir = TestModels.TempDir();
            Qwen2Checkpoint.Save(model, dir);
            SafetensorsWriter.Write(Path.Combine(dir, "model.safetensors"), edit(model.state_dict()));
            return dir;
        }

        var e = Assert.Throws<InvalidDataException>(() => Qwen2Checkpoint.Load(Write(d => { d.Remove("model.layers.1.mlp.up_proj.weight"); return d; })));
        Assert.Contains("missing key 'model.layers.1.mlp.up_proj.weight'", e.Message);

        e = Assert.Throws<InvalidDataException>(() => Qwen2Checkpoint.Load(Write(d => { d["model.layers.7.extra"] = zeros(3); return d; })));
        Assert.Contains("unexpected key 'model.layers.7.extra'", e.Message);
        Assert.Contains("model.safetensors", e.Message);

        e = Assert.Throws<InvalidDataException>(() => Qwen2Checkpoint.Load(Write(d => { d["model.norm.weight"] = ones(65); return d; })));
        Assert.Contains("'model.norm.weight' has shape [65]", e.Message);
        Assert.Contains("[64]", e.Message);
    }

    [Fact]
    public void Missing_weights_file_is_named()
    {
        string dir = TestModels.WriteTiny();
        File.Delete(Path.Combine(dir, "model.safetensors"));
        var e = Assert.Throws<FileNotFoundException>(() => Qwen2Checkpoint.Load(dir));
        Assert.Contains("model.safetensors", e.Message);
    }

    [Fact]
    public void Weights_load_from_a_non_seekable_stream()
    {
        using var scope = NewDisposeScope();
        using var source = Qwen2Model.Random(Qwen2Config.Tiny(), 25);
        using var target = Qwen2Model.Random(Qwen2Config.Tiny(), 26);
        var buffer = new MemoryStream();
        Qwen2Checkpoint.WriteWeights(source, buffer);
        Qwen2Checkpoint.LoadWeights(target, new ForwardOnlyStream(buffer.ToArray()));
        Assert.Equal(0f, TestModels.MaxAbsDiff(Logits(source), Logits(target)));
    }
}

/// <summary>A read-only stream that cannot seek, like a network transfer.</summary>
internal sealed class ForwardOnlyStream(byte[] data) : Stream
{
    readonly MemoryStream inner = new(data);
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
