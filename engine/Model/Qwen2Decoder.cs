using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TreePO.Engine.Model;

/// <summary>HF's <c>Qwen2Model</c> (the <c>model.</c> prefix of the state dict): embeddings, layers, final norm.</summary>
public sealed class Qwen2Decoder : nn.Module
{
    internal readonly Embedding embed_tokens;
    internal readonly ModuleList<Qwen2DecoderLayer> layers;
    internal readonly RmsNorm norm;

    public Qwen2Decoder(Qwen2Config c) : base(nameof(Qwen2Decoder))
    {
        embed_tokens = nn.Embedding(c.VocabSize, c.HiddenSize);
        layers = new ModuleList<Qwen2DecoderLayer>(Enumerable.Range(0, c.NumHiddenLayers).Select(_ => new Qwen2DecoderLayer(c)).ToArray());
        norm = new RmsNorm(c.HiddenSize, c.RmsNormEps);
        RegisterComponents();
    }
}
