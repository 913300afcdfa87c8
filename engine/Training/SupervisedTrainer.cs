using TorchSharp;
using TorchSharp.Modules;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Training;

/// <summary>
/// Supervised fine-tuning (next-token cross-entropy on response tokens only), used to make the built-in base model.
/// AdamW (<see cref="AdamWOptimizer"/>), linear warm-up then cosine decay to 10% over <paramref name="totalSteps"/>, gradient clipping.
/// Call it from the one thread that owns the model.
/// </summary>
public sealed class SupervisedTrainer : IDisposable
{
    readonly nn.Module model;
    readonly NextTokenLogProbs logProbs;
    readonly AdamWOptimizer optimizer;
    readonly Parameter[] parameters;
    readonly Device device;
    readonly double learningRate;
    readonly int warmupSteps;
    readonly int totalSteps;
    readonly double gradClip;

    /// <summary>The moments' decay rates: the defaults of TorchSharp's <c>optim.AdamW</c>, which this trainer used
    /// before the project had its own optimiser.</summary>
    public const double Beta1 = 0.9, Beta2 = 0.999;

    public SupervisedTrainer(nn.Module model, NextTokenLogProbs logProbs, double learningRate, int warmupSteps,
        int totalSteps, double weightDecay = 0.1, double gradClip = 1.0)
    {
        if (!(learningRate > 0)) throw new ArgumentOutOfRangeException(nameof(learningRate), "must be > 0");
        if (totalSteps < 1) throw new ArgumentOutOfRangeException(nameof(totalSteps), "must be >= 1");
        this.model = model;
        this.logProbs = logProbs;
        this.learningRate = learningRate;
        this.warmupSteps = warmupSteps;
        this.totalSteps = totalSteps;
        this.gradClip = gradClip;
        parameters = model.parameters().ToArray();
        device = parameters.Length > 0 ? parameters[0].device : CPU;
        optimizer = new AdamWOptimizer(model.named_parameters(), learningRate, Beta1, Beta2, weightDecay: weightDecay);
    }

    public int Steps { get; private set; }

    public double LearningRateAt(int step)
    {
        if (step < warmupSteps) return learningRate * (step + 1) / warmupSteps;
        double progress = Math.Min(1.0, (step - warmupSteps) / (double)Math.Max(1, totalSteps - warmupSteps));
        return learningRate * (0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }

    public SupervisedStepStats Step(IReadOnlyList<TrainingSample> samples)
    {
        if (samples.Count == 0) throw new ArgumentException("a step needs at least one sample", nameof(samples));
        model.train();
        optimizer.ZeroGrad();
        double loss;
        int tokens;
        using (var scope = NewDisposeScope())
        {
            var batch = SequenceBatch.Build(samples, device: device);
            var lp = logProbs(batch.InputIds);
            var count = batch.Mask.sum();
            var l = -(lp * batch.Mask).sum() / count.ClampedBelow(1);
            l.backward();
            float[] read = stack([l.detach(), count]).cpu().data<float>().ToArray();   // one read back, not two
            loss = read[0];
            tokens = (int)read[1];
        }
        double norm = nn.utils.clip_grad_norm_(parameters, gradClip);
        double lr = LearningRateAt(Steps);
        optimizer.LearningRate = lr;
        optimizer.Step();
        Steps++;
        model.eval();
        return new SupervisedStepStats(samples.Count, tokens, loss, norm, lr);
    }

    public void Dispose() => optimizer.Dispose();
}
