using System.Text.Json;
using Microsoft.Extensions.Configuration;
using TreePO.Core.Trees;
using TreePO.Grains.Tests.Support;
using TreePO.Grains.Training;
using TreePO.Hosting.Options;
using TreePO.Hosting.Training;

namespace TreePO.Grains.Tests.Hosting;

/// <summary>`treepo train`'s choices from the options tree: the algo presets, sampling and advantage apart, the
/// trainer's keys, and the spec (run_spec.json) recording what was resolved.</summary>
public sealed class TrainSpecTests
{
    static TreePOOptions Options(params string[] overrides)
    {
        var (values, rest) = TreePOConfiguration.SplitOverrides(overrides);
        Assert.Empty(rest);
        return TreePOConfiguration.Bind(new ConfigurationBuilder().AddInMemoryCollection(values).Build());
    }

    static RunSpec Spec(params string[] overrides) => TrainSpec.Build(Options(overrides), "r", Path.GetTempPath(), TinyModelFolder.Path, null, null);

    static TreeConfig TreeOf(RunSpec spec) => RunSpecCheck.TreeConfigOf(spec);

    [Fact]
    public void The_algo_presets_sampling_and_advantage_and_each_can_be_chosen_apart()
    {
        var treepo = Spec();
        Assert.Equal((SamplingMode.Tree, 2, "tree"), (TreeOf(treepo).Mode, TreeOf(treepo).Branch, treepo.Trainer.ResolvedAdvantage));
        var grpo = Spec("--run.algo=grpo");
        Assert.Equal((SamplingMode.Sequential, 8, "group"), (TreeOf(grpo).Mode, TreeOf(grpo).Branch, grpo.Trainer.ResolvedAdvantage));
        // The paper's Table 1 middle row: GRPO's advantage on tree samples.
        var middle = Spec("--run.algo=grpo", "--run.sampling=tree");
        Assert.Equal((SamplingMode.Tree, "group"), (TreeOf(middle).Mode, middle.Trainer.ResolvedAdvantage));
        var seq = Spec("--run.sampling=sequential", "--advantage.estimator=tree_subgroup_reject", "--advantage.noroot=true");
        Assert.Equal((SamplingMode.Sequential, "tree_subgroup_reject", true), (TreeOf(seq).Mode, seq.Trainer.ResolvedAdvantage, seq.Trainer.NoRoot));

        // run_spec.json records the resolved values.
        var json = JsonSerializer.Deserialize<RunSpec>(JsonSerializer.Serialize(middle))!;
        Assert.Equal(("grpo", "group", false), (json.Trainer.Algo, json.Trainer.Advantage, json.Trainer.NoRoot));
        Assert.Equal(SamplingMode.Tree, RunSpecCheck.TreeConfigOf(json).Mode);
    }

    [Fact]
    public void Bad_choices_name_their_key_and_flag()
    {
        Assert.Contains("Run:Sampling (--sampling)", Assert.Throws<ArgumentException>(() => Spec("--run.sampling=beam")).Message);
        Assert.Contains("Advantage:NoRoot (--no-root)",
            Assert.Throws<ArgumentException>(() => Spec("--advantage.estimator=group", "--advantage.noroot=true")).Message);
        Assert.Contains("the segment advantage has no such term",
            Assert.Throws<ArgumentException>(() => Spec("--advantage.estimator=segment", "--advantage.noroot=true")).Message);
        Assert.Equal("segment", Spec("--advantage.estimator=segment").Trainer.ResolvedAdvantage);
        var e = Assert.Throws<TreePOOptionsException>(() => Options("--advantage.estimator=tree_sized", "--run.algo=ppo"));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Advantage:Estimator: must be one of tree, tree_size_weighted"));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Run:Algo: must be treepo or grpo"));
    }

    [Fact]
    public void Every_trainer_key_reaches_the_trainer_and_its_errors_name_real_keys()
    {
        var spec = Spec("--trainer.epslow=0.1", "--trainer.epshigh=0.3", "--trainer.dualclip=3", "--trainer.gradclip=0.5",
            "--trainer.learningrate=2e-4", "--trainer.warmupsteps=2", "--trainer.weightdecay=0", "--trainer.minibatches=2",
            "--trainer.microbatchtokens=1024", "--trainer.torchthreads=1", "--trainer.device=CUDA:1", "--filter.oversample=1.5", "--filter.maxextrarounds=0",
            "--run.steps=7", "--run.queriesperstep=5", "--TreePO:Seed=9");
        Assert.Equal(new TrainerSettings(LearningRate: 2e-4, WeightDecay: 0, WarmupSteps: 2, MiniBatches: 2, GradClip: 0.5, MicroBatchTokens: 1024,
            EpsLow: 0.1, EpsHigh: 0.3, DualClip: 3, Algo: "treepo", TorchThreads: 1, Advantage: "tree", Device: "cuda:1"), spec.Trainer);
        Assert.Equal("cuda:1", TrainerGrain.ToOptions(spec.Trainer).Device);
        Assert.Equal((1.5, 0, 7, 5, 9UL), (spec.Oversample, spec.MaxExtraRounds, spec.Steps, spec.QueriesPerStep, spec.Seed));

        var e = Assert.Throws<TreePOOptionsException>(() => Options("--trainer.epslow=1.5", "--trainer.dualclip=1", "--filter.oversample=0.5",
            "--trainer.device=gpu"));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Trainer:EpsLow must be in (0, 1)"));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Trainer:DualClip must be > 1"));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Filter:Oversample: must be 1"));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Trainer:Device must be cpu, cuda or cuda:N (got 'gpu')"));
        // Every key an error names exists in the options tree.
        var keys = OptionKeys.Of(new TreePOOptions()).Select(k => "TreePO:" + k.Key).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (string error in e.Errors) Assert.Contains(error.Split(' ')[0].TrimEnd(':'), keys);
    }

    [Fact]
    public void A_mistyped_key_is_refused_with_the_nearest_key()
    {
        var e = Assert.Throws<TreePOOptionsException>(() => Options("--trainer.epslo=0.1", "--tree.widht=3"));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:trainer:epslo: unknown key") && x.EndsWith("did you mean TreePO:trainer:EpsLow?"));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:tree:widht: unknown key") && x.EndsWith("did you mean TreePO:tree:Width?"));
        Assert.Equal("Width", NearestName.Of("widht", ["Width", "Depth"]));
        Assert.Null(NearestName.Of("bogus-flag", ["width", "depth"]));
    }
}
