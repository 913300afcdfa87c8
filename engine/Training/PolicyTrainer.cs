using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TreePO.Engine.Training;

/// <summary>Given right-padded token ids [B, T], returns [B, T-1]: the log-prob of token t+1 after tokens 0..t,
/// with autograd when grad mode is on. The model computes it in chunks so the full vocabulary is never held for the
/// whole batch.</summary>
public delegate Tensor NextTokenLogProbs(Tensor inputIds);

/// <summary>What one training step did.</summary>
public sealed record PolicyStepStats(
    int Samples, int Tokens, int OptimizerSteps, double Loss, double ClipFraction, double DualClipFraction,
    double ApproxKl, double GradNorm, double LearningRate);

/// <summary>
/// The policy update: recompute the old log-probs with the current weights, then several optimiser steps over
/// mini-batches with the clipped-ratio token-mean loss, AdamW with weight decay, gradient clipping and linear warm-up.
/// Not thread-safe: call it from the one thread that owns the model (TorchSharp scopes and grad mode are per thread).
/// </summary>
public sealed class PolicyTrainer : IDisposable
{
    readonly nn.Module model;
    readonly NextTokenLogProbs logProbs;
    readonly TrainerOptions options;
    readonly AdamW optimizer;
    readonly Parameter[] parameters;

    public PolicyTrainer(nn.Module model, NextTokenLogProbs logProbs, TrainerOptions options)
    {
        var errors = options.Validate();
        if (errors.Count > 0) throw new ArgumentException(string.Join("; ", errors), nameof(options));
        this.model = model;
        this.logProbs = logProbs;
        this.options = options;
        parameters = model.parameters().ToArray();
        optimizer = optim.AdamW(parameters, options.LearningRate, options.Beta1, options.Beta2,
            weight_decay: options.WeightDecay);
    }

    /// <summary>Optimiser steps taken so far (drives the warm-up; saved with the optimiser state).</summary>
    public int OptimizerSteps { get; private set; }

    /// <summary>The log-prob of every response token under the current weights, per sample.</summary>
    public float[][] ResponseLogProbs(IReadOnlyList<TrainingSample> samples)
    {
        var result = new float[samples.Count][];
        using var _ = no_grad();
        foreach (var micro in MicroBatches(Enumerable.Range(0, samples.Count).ToArray(), samples))
        {
            using var scope = NewDisposeScope();
            var batch = SequenceBatch.Build(micro.Select(i => samples[i]).ToArray());
            var lp = logProbs(batch.InputIds);
            for (int row = 0; row < micro.Length; row++)
            {
                var s = samples[micro[row]];
                result[micro[row]] = lp[row].narrow(0, s.Prompt.Length - 1, s.Response.Length).data<float>().ToArray();
            }
        }
        return result;
    }

    public PolicyStepStats Step(IReadOnlyList<TrainingSample> samples, ulong seed)
    {
        if (samples.Count == 0) throw new ArgumentException("a training step needs at least one sample", nameof(samples));
        foreach (var s in samples)
        {
            if (s.Prompt.Length == 0) throw new ArgumentException("a training sample has an empty prompt");
            if (s.ResponseMask is not null && s.ResponseMask.Length != s.Response.Length)
                throw new ArgumentException("a training sample's response mask does not match its response length");
        }
        model.train();
        float[][] old = ResponseLogProbs(samples);

        int[] order = Enumerable.Range(0, samples.Count).ToArray();
        new Random(TreePO.Core.Protocol.SeedMix.ToInt32(seed)).Shuffle(order);
        int miniBatches = Math.Min(options.MiniBatches, samples.Count);

        double lossSum = 0, clip = 0, dual = 0, kl = 0, gradNorm = 0, lr = 0;
        int tokens = 0;
        for (int m = 0; m < miniBatches; m++)
        {
            int[] mb = order.Where((_, i) => i % miniBatches == m).ToArray();
            int mbTokens = mb.Sum(i => CountedTokens(samples[i]));
            if (mbTokens == 0) continue;
            optimizer.zero_grad();
            foreach (var micro in MicroBatches(mb, samples))
            {
                using var scope = NewDisposeScope();
                var rows = micro.Select(i => samples[i]).ToArray();
                var batch = SequenceBatch.Build(rows, micro.Select(i => old[i]).ToArray());
                var lp = logProbs(batch.InputIds);
                var loss = PolicyLoss.TokenSum(lp, batch.OldLogProbs!, batch.Advantages, batch.Mask, options.Loss, out var st) / mbTokens;
                loss.backward();
                lossSum += loss.item<float>();
                clip += st.ClipFraction * st.Tokens;
                dual += st.DualClipFraction * st.Tokens;
                kl += st.ApproxKl * st.Tokens;
            }
            tokens += mbTokens;
            gradNorm += nn.utils.clip_grad_norm_(parameters, options.GradClip);
            lr = CurrentLearningRate();
            foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
            optimizer.step();
            OptimizerSteps++;
        }
        model.eval();
        return new PolicyStepStats(samples.Count, tokens, miniBatches, lossSum / miniBatches,
            clip / Math.Max(tokens, 1), dual / Math.Max(tokens, 1), kl / Math.Max(tokens, 1), gradNorm / miniBatches, lr);
    }

    double CurrentLearningRate() =>
        options.WarmupSteps == 0 ? options.LearningRate
            : options.LearningRate * Math.Min(1.0, (OptimizerSteps + 1) / (double)options.WarmupSteps);

    public void SaveOptimizer(string path)
    {
        optimizer.save_state_dict(path);
        File.WriteAllText(path + ".steps", OptimizerSteps.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    public void LoadOptimizer(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"optimiser state not found: {path}", path);
        optimizer.load_state_dict(path);
        string steps = path + ".steps";
        OptimizerSteps = File.Exists(steps) ? int.Parse(File.ReadAllText(steps), System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    static int CountedTokens(TrainingSample s) => s.ResponseMask?.Count(m => m) ?? s.Response.Length;

    // Groups samples (in the given order) so that rows x longest length stays under the token budget.
    IEnumerable<int[]> MicroBatches(int[] indices, IReadOnlyList<TrainingSample> samples)
    {
        var current = new List<int>();
        int longest = 0;
        foreach (int i in indices)
        {
            int len = samples[i].Length;
            if (current.Count > 0 && Math.Max(longest, len) * (current.Count + 1) > options.MicroBatchTokens)
            {
                yield return current.ToArray();
                current.Clear();
                longest = 0;
            }
            current.Add(i);
            longest = Math.Max(longest, len);
        }
        if (current.Count > 0) yield return current.ToArray();
    }

    public void Dispose() => optimizer.Dispose();
}
