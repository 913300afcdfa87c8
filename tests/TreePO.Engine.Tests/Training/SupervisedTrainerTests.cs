using TorchSharp;
using TorchSharp.Modules;
using TreePO.Engine.Native;
using TreePO.Engine.Training;
using static TorchSharp.torch;

namespace TreePO.Engine.Tests.Training;

public sealed class SupervisedTrainerTests
{
    public SupervisedTrainerTests() => TorchRuntime.EnsureLoaded();

    sealed class Bigram : nn.Module
    {
        readonly Embedding embed;
        readonly Linear head;

        public Bigram() : base("bigram")
        {
            embed = nn.Embedding(12, 16);
            head = nn.Linear(16, 12);
            RegisterComponents();
            PolicyTrainerTests.Initialize(this, 5);
        }

        public Tensor NextTokenLogProbs(Tensor ids)
        {
            using var scope = NewDisposeScope();
            var logits = head.forward(embed.forward(ids.narrow(1, 0, ids.shape[1] - 1)));
            return nn.functional.log_softmax(logits, -1)
                .gather(-1, ids.narrow(1, 1, ids.shape[1] - 1).unsqueeze(-1)).squeeze(-1).MoveToOuterDisposeScope();
        }
    }

    [Fact]
    public void Training_on_a_deterministic_sequence_drives_its_loss_down()
    {
        var model = new Bigram();
        using var trainer = new SupervisedTrainer(model, model.NextTokenLogProbs, 3e-2, warmupSteps: 2, totalSteps: 60);
        var sample = new TrainingSample(new[] { 1 }, new[] { 2, 3, 4, 5, 6 }, 1f);
        double first = trainer.Step(new[] { sample }).Loss;
        double last = first;
        for (int i = 0; i < 59; i++) last = trainer.Step(new[] { sample }).Loss;
        Assert.True(last < first / 5, $"loss {first} -> {last}");
    }

    [Fact]
    public void Only_response_tokens_count()
    {
        var model = new Bigram();
        using var trainer = new SupervisedTrainer(model, model.NextTokenLogProbs, 1e-3, 0, 10);
        var s = trainer.Step(new[] { new TrainingSample(new[] { 1, 2, 3 }, new[] { 4, 5 }, 1f) });
        Assert.Equal(2, s.Tokens);
    }

    [Fact]
    public void Schedule_warms_up_then_decays_to_a_tenth()
    {
        var model = new Bigram();
        using var trainer = new SupervisedTrainer(model, model.NextTokenLogProbs, 1.0, warmupSteps: 4, totalSteps: 104);
        Assert.Equal(0.25, trainer.LearningRateAt(0), 12);
        Assert.Equal(1.0, trainer.LearningRateAt(3), 12);
        Assert.Equal(1.0, trainer.LearningRateAt(4), 12);
        Assert.Equal(0.55, trainer.LearningRateAt(54), 12);
        Assert.Equal(0.1, trainer.LearningRateAt(104), 12);
        Assert.Equal(0.1, trainer.LearningRateAt(500), 12);
    }
}
