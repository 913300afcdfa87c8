using TreePO.Hosting.Models;
using TreePO.Hosting.Training;

namespace TreePO.Grains.Tests.Hosting;

/// <summary>
/// `treepo train` and `treepo eval` on the built-in task's deep level (5) take its own defaults (CommandOptions.DeepOverlay:
/// the model pretrained on it, segments and a budget its 120-200-token answers fit), under every source a user sets;
/// on a dataset the level means nothing and changes nothing. The built-in models are found by name.
/// </summary>
public sealed class DeepLevelOptionsTests
{
    static readonly string[] NoOverrides = [];

    [Fact]
    public void Level_5_brings_the_deep_model_segments_budget_and_steps()
    {
        var deep = CommandOptions.ForTrain(5, overrides: NoOverrides);
        Assert.Equal(("builtin-deep", 8, 32, 256, 30, 10), (deep.Model.Path, deep.Tree.Depth, deep.Tree.SegmentLength,
            deep.Run.EvalMaxTokens, deep.Run.Steps, deep.Run.EvalEvery));
        // train's own defaults stay underneath: the first fork of 4 and the engine's slots.
        Assert.Equal((4, 256), (deep.Tree.InitDivergenceMin, deep.Engine.MaxSlots));

        var level2 = CommandOptions.ForTrain(2, overrides: NoOverrides);
        Assert.Equal(("", 16, 64, 100), (level2.Model.Path, level2.Tree.SegmentLength, level2.Run.EvalMaxTokens, level2.Run.Steps));

        var eval = CommandOptions.ForEval(5, overrides: NoOverrides);
        Assert.Equal(("builtin-deep", 256), (eval.Model.Path, eval.Run.EvalMaxTokens));
    }

    [Fact]
    public void The_level_may_come_from_the_options_tree_and_a_users_key_wins_over_the_deep_defaults()
    {
        var fromKey = CommandOptions.ForTrain(null, overrides: ["--run.tasklevel=5"]);
        Assert.Equal(("builtin-deep", 32), (fromKey.Model.Path, fromKey.Tree.SegmentLength));

        var mine = CommandOptions.ForTrain(5, overrides: ["--tree.segmentlength=24", "--model.path=/my/model"]);
        Assert.Equal(("/my/model", 24, 8), (mine.Model.Path, mine.Tree.SegmentLength, mine.Tree.Depth));

        // --level 2 given on the command line wins over a configured deep level.
        Assert.Equal(16, CommandOptions.ForTrain(2, overrides: ["--run.tasklevel=5"]).Tree.SegmentLength);
    }

    [Fact]
    public void A_dataset_run_takes_no_deep_defaults()
    {
        var data = CommandOptions.ForTrain(5, dataset: true, overrides: NoOverrides);
        Assert.Equal(("", 16, 64), (data.Model.Path, data.Tree.SegmentLength, data.Run.EvalMaxTokens));
    }

    [Fact]
    public void Built_in_models_are_found_by_name()
    {
        // From the test's folder (inside the repository or beside the build's copy), as a command run there finds them.
        string deep = ModelFolder.Resolve("builtin-deep");
        Assert.Equal("builtin-deep", Path.GetFileName(deep));
        Assert.True(File.Exists(Path.Combine(deep, "model.safetensors")));
        Assert.Equal(ModelFolder.Resolve(null), ModelFolder.Resolve("builtin"));
        Assert.NotEqual(ModelFolder.Resolve(null), deep);

        var e = Assert.Throws<ModelFolderException>(() => ModelFolder.Resolve("builtin-deeper"));
        Assert.Contains("builtin-deeper does not exist", e.Message);
    }
}
