using TreePO.Engine.Checkpoint;
using TreePO.Engine.Tokenizer;
using TreePO.Engine.Training;

namespace TreePO.Engine.Tests.Training;

public sealed class PretrainingTests
{
    static PretrainOptions Tiny(string dir) => new()
    {
        OutputDir = dir, TokenizerCorpus = 200, TokenizerMerges = 100, HiddenSize = 32, Layers = 1, Heads = 2, KvHeads = 1,
        IntermediateSize = 64, MaxSteps = 4, BatchSize = 4, EvalEvery = 2, EvalQueries = 4, EvalK = 2, StopAtAccuracy = 1.0,
    };

    [Fact]
    public async Task Writes_a_model_folder_that_the_engine_and_tokenizer_load()
    {
        string dir = TreePO.Testing.ScratchFolders.Create("treepo-pretrain-").FullName;
        var points = new List<PretrainPoint>();
        var result = await Pretraining.RunAsync(Tiny(dir), new SyncProgress(points));

        Assert.Equal(4, result.Steps);
        Assert.False(result.ReachedTarget);
        Assert.Equal(new[] { 2, 4 }, result.Curve.Select(p => p.Step));
        Assert.Equal(2, points.Count);
        Assert.All(result.Curve, p => Assert.True(double.IsFinite(p.Loss) && p.Loss > 0, $"loss {p.Loss}"));
        foreach (string f in new[] { "config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "pretrain.json" })
            Assert.True(File.Exists(Path.Combine(dir, f)), f + " missing");

        var tokenizer = HfTokenizer.Load(dir);
        using var model = Qwen2Checkpoint.Load(dir);
        Assert.Equal(tokenizer.VocabSize, model.Config.VocabSize);
        Assert.Contains(tokenizer.TokenToId("<|im_end|>")!.Value, model.Config.EosTokenIds);
    }

    [Fact]
    public async Task Bad_options_are_refused_with_their_names()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() =>
            Pretraining.RunAsync(Tiny("x") with { Heads = 3, StopAtAccuracy = 2 }));
        Assert.Contains("--heads", e.Message);
        Assert.Contains("--stop-at", e.Message);
    }

    [Fact]
    public async Task A_tokenizer_too_small_for_the_positions_names_the_options_to_change()
    {
        string dir = TreePO.Testing.ScratchFolders.Create("treepo-pretrain-").FullName;
        // Level 5's worked solutions with byte-level tokens and no merges run past 256 positions.
        var e = await Assert.ThrowsAsync<ArgumentException>(() =>
            Pretraining.RunAsync(Tiny(dir) with { Difficulty = 5, TokenizerMerges = 0, MaxPositions = 256, MaxResponseTokens = 64 }));
        Assert.Contains("more than --max-positions 256: raise --max-positions or --merges", e.Message);
    }

    sealed class SyncProgress(List<PretrainPoint> sink) : IProgress<PretrainPoint>
    {
        public void Report(PretrainPoint value) => sink.Add(value);
    }
}
