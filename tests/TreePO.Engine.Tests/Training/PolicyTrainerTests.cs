using TorchSharp;
using TorchSharp.Modules;
using TreePO.Engine.Native;
using TreePO.Engine.Training;
using static TorchSharp.torch;

namespace TreePO.Engine.Tests.Training;

public sealed class PolicyTrainerTests
{
    public PolicyTrainerTests() => TorchRuntime.EnsureLoaded();

    // A bigram language model: enough to have per-token log-probs that an update can move.
    sealed class Bigram : nn.Module
    {
        readonly Embedding embed;
        readonly Linear head;

        public Bigram(int vocab, long seed) : base("bigram")
        {
            // No dispose scope here: parameters must outlive the constructor. A private generator, not the global
            // one: tests run in parallel and would interleave their draws.
            embed = nn.Embedding(vocab, 16);
            head = nn.Linear(16, vocab);
            RegisterComponents();
            Initialize(this, (ulong)seed);
        }

        public Tensor NextTokenLogProbs(Tensor ids)
        {
            using var scope = NewDisposeScope();
            var logits = head.forward(embed.forward(ids.narrow(1, 0, ids.shape[1] - 1)));
            var lp = nn.functional.log_softmax(logits, -1)
                .gather(-1, ids.narrow(1, 1, ids.shape[1] - 1).unsqueeze(-1)).squeeze(-1);
            return lp.MoveToOuterDisposeScope();
        }
    }

    /// <summary>Fills every parameter from a private generator, so concurrent tests cannot change the result.</summary>
    internal static void Initialize(nn.Module module, ulong seed)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var gen = new Generator(seed);
        foreach (var (_, p) in module.named_parameters()) p.copy_(randn(p.shape, generator: gen) * 0.3);
    }

    static readonly TrainingSample Good = new(new[] { 1, 2 }, new[] { 3, 4, 5 }, +1f);
    static readonly TrainingSample Bad = new(new[] { 1, 6 }, new[] { 7, 8 }, -1f);

    static double MeanLogProb(PolicyTrainer t, TrainingSample s) => t.ResponseLogProbs(new[] { s })[0].Average();

    [Fact]
    public void One_update_raises_a_positive_trajectory_and_lowers_a_negative_one()
    {
        var model = new Bigram(10, 1);
        using var trainer = new PolicyTrainer(model, model.NextTokenLogProbs,
            new TrainerOptions { LearningRate = 1e-2, WarmupSteps = 0, MiniBatches = 1 });
        double goodBefore = MeanLogProb(trainer, Good), badBefore = MeanLogProb(trainer, Bad);

        var stats = trainer.Step(new[] { Good, Bad }, seed: 3);

        Assert.True(MeanLogProb(trainer, Good) > goodBefore);
        Assert.True(MeanLogProb(trainer, Bad) < badBefore);
        Assert.Equal(5, stats.Tokens);
        Assert.Equal(1, trainer.OptimizerSteps);
        Assert.True(stats.GradNorm > 0);
        // The first mini-batch is on-policy: the ratio is exactly 1, nothing is clipped.
        Assert.Equal(0, stats.ClipFraction);
    }

    [Fact]
    public void Masked_response_tokens_do_not_count()
    {
        var model = new Bigram(10, 2);
        using var trainer = new PolicyTrainer(model, model.NextTokenLogProbs, new TrainerOptions { MiniBatches = 1 });
        var masked = Good with { ResponseMask = new[] { true, false, false } };
        Assert.Equal(1, trainer.Step(new[] { masked }, seed: 1).Tokens);
    }

    [Fact]
    public void Warmup_ramps_the_learning_rate_then_holds_it()
    {
        var model = new Bigram(10, 3);
        using var trainer = new PolicyTrainer(model, model.NextTokenLogProbs,
            new TrainerOptions { LearningRate = 1e-3, WarmupSteps = 4, MiniBatches = 2 });
        Assert.Equal(0.5e-3, trainer.Step(new[] { Good, Bad }, 1).LearningRate, 12);   // steps 1, 2 of 4
        Assert.Equal(1e-3, trainer.Step(new[] { Good, Bad }, 2).LearningRate, 12);     // steps 3, 4 of 4
        Assert.Equal(1e-3, trainer.Step(new[] { Good, Bad }, 3).LearningRate, 12);
    }

    [Fact]
    public void Saved_optimiser_and_weights_resume_exactly()
    {
        var options = new TrainerOptions { LearningRate = 1e-2, WarmupSteps = 3, MiniBatches = 2 };
        var batch = new[] { Good, Bad, Good with { Advantage = 0.5f } };

        var straight = new Bigram(10, 4);
        using (var t = new PolicyTrainer(straight, straight.NextTokenLogProbs, options))
        {
            t.Step(batch, 1);
            t.Step(batch, 2);
        }

        string dir = TreePO.Testing.ScratchFolders.Create("treepo-opt-").FullName;
        var first = new Bigram(10, 4);
        using (var t = new PolicyTrainer(first, first.NextTokenLogProbs, options))
        {
            t.Step(batch, 1);
            t.SaveOptimizer(Path.Combine(dir, "optimizer.bin"));
            first.save(Path.Combine(dir, "model.bin"));
        }
        var resumed = new Bigram(10, 99);
        resumed.load(Path.Combine(dir, "model.bin"));
        using (var t = new PolicyTrainer(resumed, resumed.NextTokenLogProbs, options))
        {
            t.LoadOptimizer(Path.Combine(dir, "optimizer.bin"));
            Assert.Equal(2, t.OptimizerSteps);
            t.Step(batch, 2);
        }

        Assert.Equal(3, straight.named_parameters().Count());
        foreach (var (name, p) in straight.named_parameters())
        {
            var q = resumed.named_parameters().Single(x => x.name == name).parameter;
            Assert.True(p.allclose(q, rtol: 0, atol: 1e-7), $"parameter {name} differs after resume by {(p - q).abs().max().item<float>()}");
        }
    }

    [Fact]
    public void Bad_options_are_refused_with_their_names()
    {
        var model = new Bigram(10, 5);
        var e = Assert.Throws<ArgumentException>(() => new PolicyTrainer(model, model.NextTokenLogProbs,
            new TrainerOptions { LearningRate = 0, MiniBatches = 0 }));
        Assert.Contains("Trainer:LearningRate", e.Message);
        Assert.Contains("Trainer:MiniBatches", e.Message);
    }
}
