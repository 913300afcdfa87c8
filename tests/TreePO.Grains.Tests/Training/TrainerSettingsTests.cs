using System.Text.Json;
using TreePO.Core.Trees;
using TreePO.Grains.Tests.Support;
using TreePO.Grains.Training;

namespace TreePO.Grains.Tests.Training;

public sealed class TrainerSettingsTests
{
    static RunSpec Spec(TrainerSettings trainer) => new(
        "r", Path.GetTempPath(), TinyModelFolder.Path, null, null, TaskLevel: 1, Steps: 1, QueriesPerStep: 1, MaxExtraRounds: 0,
        TreeConfigJson: JsonSerializer.Serialize(new TreeConfig { Width = 4, Depth = 2, SegmentLength = 4, Branch = 2 }, TreeJson.Options),
        Trainer: trainer, EvalEvery: 0, EvalQueries: 1, EvalK: 1, EvalTemperature: 1f, EvalMaxTokens: 8, CheckpointEvery: 0, Seed: 1);

    [Fact]
    public void Packing_and_old_log_probs_default_to_packed_and_recomputed_and_map_onto_the_trainer()
    {
        var defaults = TrainerGrain.ToOptions(new TrainerSettings());
        Assert.True(defaults.Pack);
        Assert.False(defaults.EngineOldLogProbs);
        var grpo = TrainerGrain.ToOptions(new TrainerSettings(Algo: "grpo"));
        Assert.True(grpo.Pack);
        var off = TrainerGrain.ToOptions(new TrainerSettings(Packing: "OFF", OldLogProbs: "engine"));
        Assert.False(off.Pack);
        Assert.True(off.EngineOldLogProbs);
        Assert.Empty(RunSpecCheck.Validate(Spec(new TrainerSettings()), 0));
    }

    [Fact]
    public void Unknown_packing_or_old_log_prob_source_is_refused_by_name()
    {
        var errors = RunSpecCheck.Validate(Spec(new TrainerSettings(Packing: "auto", OldLogProbs: "cache")), 0);
        Assert.Contains(errors, e => e.Contains("Trainer:Packing") && e.Contains("'auto'"));
        Assert.Contains(errors, e => e.Contains("Trainer:OldLogProbs") && e.Contains("'cache'"));
        Assert.Contains("Trainer:Device must be cpu, cuda or cuda:N (got 'gpu7')",
            RunSpecCheck.Validate(Spec(new TrainerSettings(Device: "gpu7")), 0));
    }

    [Fact]
    public void A_run_spec_written_before_the_device_setting_trains_on_the_cpu()
    {
        string json = JsonSerializer.Serialize(Spec(new TrainerSettings(Device: "cuda:0")));
        Assert.Contains("\"Device\":\"cuda:0\"", json);
        var old = JsonSerializer.Deserialize<RunSpec>(json.Replace(",\"Device\":\"cuda:0\"", ""))!;
        Assert.Equal("cpu", old.Trainer.Device);
        Assert.Equal("cpu", TrainerGrain.ToOptions(old.Trainer).Device);
    }
}
