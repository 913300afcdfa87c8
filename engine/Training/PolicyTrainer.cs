using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Training;

/// <summary>
/// The policy update: several optimiser steps over mini-batches with the clipped-ratio token-mean loss, AdamW with
/// weight decay, gradient clipping and linear warm-up. Old log-probs are recomputed without a separate pass for the
/// first mini-batch, which takes its own (detached) log-probs from its training pass (it runs before any weight
/// changes), and with one pass without gradient over mini-batches 2..M before the first optimiser step; with
/// <see cref="TrainerOptions.EngineOldLogProbs"/> they are the engine's (<see cref="TrainingSample.OldLogProbs"/>).
/// With <see cref="TrainerOptions.Pack"/> every forward is tree-packed and mini-batches hold whole trees.
/// Every batch tensor is made on the model's device from host arrays, and values come back to the host once per
/// micro-batch (log-probs to keep, the loss with its statistics) and once per optimiser step (the gradient norm).
/// Not thread-safe: call it from the one thread that owns the model (TorchSharp scopes and grad mode are per thread).
/// </summary>
public sealed class PolicyTrainer : IDisposable
{
    readonly nn.Module model;
    readonly NextTokenLogProbs logProbs;
    readonly PackedTokenLogProbs? packedLogProbs;
    readonly TrainerOptions options;
    readonly AdamWOptimizer optimizer;
    readonly Parameter[] parameters;
    readonly Device device;

    public PolicyTrainer(nn.Module model, NextTokenLogProbs logProbs, TrainerOptions options, PackedTokenLogProbs? packedLogProbs = null)
    {
        var errors = options.Validate();
        if (errors.Count > 0) throw new ArgumentException(string.Join("; ", errors), nameof(options));
        if (options.Pack && packedLogProbs is null)
            throw new ArgumentException("Trainer:Pack needs a model with a tree-packed forward", nameof(packedLogProbs));
        this.model = model;
        this.logProbs = logProbs;
        this.packedLogProbs = packedLogProbs;
        this.options = options;
        parameters = model.parameters().ToArray();
        device = parameters.Length > 0 ? parameters[0].device : CPU;
        optimizer = new AdamWOptimizer(model.named_parameters(), options.LearningRate, options.Beta1, options.Beta2,
            weightDecay: options.WeightDecay);
    }

    /// <summary>Optimiser steps taken so far (drives the warm-up; saved with the optimiser state).</summary>
    public int OptimizerSteps { get; private set; }

    /// <summary>The log-prob of every response token under the current weights, per sample (packed as the options
    /// say, or as <paramref name="packed"/> says).</summary>
    public float[][] ResponseLogProbs(IReadOnlyList<TrainingSample> samples, bool? packed = null)
    {
        bool pack = Packing(packed);
        var result = new float[samples.Count][];
        using var _ = no_grad();
        foreach (var batch in MicroBatches(Enumerable.Range(0, samples.Count).ToArray(), samples, pack))
        {
            using var scope = NewDisposeScope();
            float[] lp = Forward(batch, samples).cpu().data<float>().ToArray();
            for (int k = 0; k < batch.Samples.Length; k++)
                result[batch.Samples[k]] = batch.ResponseIndex[k].Select(i => lp[i]).ToArray();
        }
        return result;
    }

    /// <summary>The token-mean loss of <paramref name="samples"/> as one mini-batch, with its gradients left in the
    /// parameters (zeroed first) and no optimiser step: for tests that compare the packed and unpacked layouts. Old
    /// log-probs: the samples' own, else the current ones.</summary>
    public (double Loss, PolicyLossStats Stats) LossAndGradients(IReadOnlyList<TrainingSample> samples, bool packed)
    {
        Check(samples);
        bool pack = Packing(packed);
        var batches = MicroBatches(Enumerable.Range(0, samples.Count).ToArray(), samples, pack).ToList();
        double counted = batches.Sum(b => b.CountedTokens);
        optimizer.ZeroGrad();
        double loss = 0, n = 0, clip = 0, dual = 0, ratio = 0, kl = 0;
        foreach (var b in batches)
        {
            var (l, st) = Backward(b, samples, counted);
            loss += l;
            n += st.Tokens;
            clip += st.ClipFraction * st.Tokens;
            dual += st.DualClipFraction * st.Tokens;
            ratio += st.RatioMean * st.Tokens;
            kl += st.ApproxKl * st.Tokens;
        }
        double d = Math.Max(n, 1);
        return (loss, new PolicyLossStats(n, clip / d, dual / d, ratio / d, kl / d));
    }

    public PolicyStepStats Step(IReadOnlyList<TrainingSample> samples, ulong seed)
    {
        Check(samples);
        var clock = Stopwatch.StartNew();
        bool pack = Packing(null);
        var rng = new Random(TreePO.Core.Protocol.SeedMix.ToInt32(seed));
        var plan = MiniBatches(samples, pack, rng).Select(mb => MicroBatches(mb, samples, pack).ToList()).ToList();
        var all = plan.SelectMany(m => m).ToList();
        bool engineOld = options.EngineOldLogProbs && all.All(b => b.OldLogProbs is not null);
        long oldTokens = 0;
        model.train();
        if (!engineOld)
        {
            foreach (var b in all) b.OldLogProbs = null;
            // Before any update: mini-batches 2..M without gradient; the first takes its own in its training pass.
            using var _ = no_grad();
            foreach (var b in plan.Skip(1).SelectMany(m => m))
            {
                using var scope = NewDisposeScope();
                b.OldLogProbs = Forward(b, samples).cpu().data<float>().ToArray();
                oldTokens += b.Tokens;
            }
        }

        double lossSum = 0, clip = 0, dual = 0, kl = 0, gradNorm = 0, lr = 0;
        int tokens = 0, steps = 0;
        foreach (var mini in plan)
        {
            double mbTokens = mini.Sum(b => b.CountedTokens);
            if (mbTokens == 0) continue;
            optimizer.ZeroGrad();
            foreach (var b in mini)
            {
                var (loss, st) = Backward(b, samples, mbTokens);
                lossSum += loss;
                clip += st.ClipFraction * st.Tokens;
                dual += st.DualClipFraction * st.Tokens;
                kl += st.ApproxKl * st.Tokens;
            }
            tokens += (int)mbTokens;
            gradNorm += nn.utils.clip_grad_norm_(parameters, options.GradClip);
            lr = CurrentLearningRate();
            optimizer.LearningRate = lr;
            optimizer.Step();
            OptimizerSteps++;
            steps++;
        }
        model.eval();
        int m = Math.Max(steps, 1);
        return new PolicyStepStats(samples.Count, tokens, steps, lossSum / m,
            clip / Math.Max(tokens, 1), dual / Math.Max(tokens, 1), kl / Math.Max(tokens, 1), gradNorm / m, lr)
        {
            Packed = pack,
            EngineOldLogProbs = engineOld,
            UpdateTokens = all.Sum(b => (long)b.Tokens),
            UpdatePaddedTokens = all.Sum(b => (long)b.PaddedTokens),
            UnpackedTokens = samples.Sum(s => (long)s.Length),
            OldLogProbTokens = oldTokens,
            Seconds = clock.Elapsed.TotalSeconds,
        };
    }

    // One micro-batch's loss (divided by the mini-batch's counted tokens) and backward; old log-probs not yet known
    // are the current ones, detached (only the first mini-batch, before any update).
    (double Loss, PolicyLossStats Stats) Backward(PolicyBatch b, IReadOnlyList<TrainingSample> samples, double mbTokens)
    {
        using var scope = NewDisposeScope();
        var lp = Forward(b, samples);
        var old = b.OldLogProbs is { } o ? OnDevice(o) : lp.detach();
        var w = b.Weights;
        var loss = PolicyLoss.WeightedSumAndStatistics(lp, old, OnDevice(w.AdvantagePositive), OnDevice(w.AdvantageNegative),
            OnDevice(w.CountPositive), OnDevice(w.CountNegative), OnDevice(w.Count), options.Loss, out var statistics).DividedBy(mbTokens);
        loss.backward();
        // The loss and its statistics in one read (on a GPU, one wait for the backward instead of six).
        float[] read = cat([loss.detach().reshape(1), statistics]).cpu().data<float>().ToArray();
        return (read[0], PolicyLossStats.FromSums(read.AsSpan(1)));
    }

    Tensor OnDevice(float[] values) => tensor(values, device: device);
    Tensor OnDevice(long[] values) => tensor(values, device: device);

    // Log-probs of the batch's scored positions, flat [N].
    Tensor Forward(PolicyBatch b, IReadOnlyList<TrainingSample> samples)
    {
        using var scope = NewDisposeScope();
        Tensor lp;
        if (b.Packed is { } p)
            lp = packedLogProbs!(
                OnDevice(p.Ids).reshape(p.Rows, p.Length), OnDevice(p.Positions).reshape(p.Rows, p.Length),
                tensor(p.Mask, device: device).reshape(p.Rows, p.Length, p.Length), OnDevice(p.ScoredRows), OnDevice(p.Targets));
        else
            lp = logProbs(SequenceBatch.PaddedIds(b.Samples.Select(i => samples[i]).ToArray(), device)).reshape(-1);
        return lp.MoveToOuterDisposeScope();
    }

    bool Packing(bool? packed)
    {
        bool pack = packed ?? options.Pack;
        if (pack && packedLogProbs is null) throw new InvalidOperationException("this trainer has no tree-packed forward");
        return pack;
    }

    static void Check(IReadOnlyList<TrainingSample> samples)
    {
        if (samples.Count == 0) throw new ArgumentException("a training step needs at least one sample", nameof(samples));
        foreach (var s in samples)
        {
            if (s.Prompt.Length == 0) throw new ArgumentException("a training sample has an empty prompt");
            if (s.ResponseMask is not null && s.ResponseMask.Length != s.Response.Length)
                throw new ArgumentException("a training sample's response mask does not match its response length");
            if (s.OldLogProbs is not null && s.OldLogProbs.Length != s.Response.Length)
                throw new ArgumentException("a training sample's old log-probs do not match its response length");
            if (s.TokenAdvantages is not null && s.TokenAdvantages.Length != s.Response.Length)
                throw new ArgumentException("a training sample's token advantages do not match its response length");
        }
    }

    double CurrentLearningRate() =>
        options.WarmupSteps == 0 ? options.LearningRate
            : options.LearningRate * Math.Min(1.0, (OptimizerSteps + 1) / (double)options.WarmupSteps);

    public void SaveOptimizer(string path)
    {
        optimizer.Save(path);
        File.WriteAllText(path + ".steps", OptimizerSteps.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    public void LoadOptimizer(string path)
    {
        optimizer.Load(path);
        string steps = path + ".steps";
        OptimizerSteps = File.Exists(steps) ? int.Parse(File.ReadAllText(steps), System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    // Unpacked: shuffled trajectories dealt round-robin (as before packing existed). Packed: whole trees (samples
    // sharing a prompt) in shuffled order, each to the mini-batch with the fewest trajectories so far, so that no
    // tree's shared prefixes are split across optimiser steps.
    List<int[]> MiniBatches(IReadOnlyList<TrainingSample> samples, bool pack, Random rng)
    {
        if (!pack)
        {
            int[] order = Enumerable.Range(0, samples.Count).ToArray();
            rng.Shuffle(order);
            int count = Math.Min(options.MiniBatches, samples.Count);
            return Enumerable.Range(0, count).Select(m => order.Where((_, i) => i % count == m).ToArray()).ToList();
        }
        var trees = PackedBatch.Trees(samples).ToArray();
        rng.Shuffle(trees);
        int n = Math.Min(options.MiniBatches, trees.Length);
        var result = Enumerable.Range(0, n).Select(_ => new List<int>()).ToArray();
        foreach (var tree in trees)
        {
            int m = 0;
            for (int k = 1; k < n; k++) if (result[k].Count < result[m].Count) m = k;
            result[m].AddRange(tree);
        }
        return result.Select(r => r.ToArray()).ToList();
    }

    // Unpacked: samples in the given order, rows x longest length under the token budget. Packed: the trees' pieces
    // (whole trees up to PieceTokens), their packed tokens under the budget (a piece larger than it goes alone).
    IEnumerable<PolicyBatch> MicroBatches(int[] indices, IReadOnlyList<TrainingSample> samples, bool pack)
    {
        if (pack)
        {
            var subset = indices.Select(i => samples[i]).ToArray();
            var current = new List<int[]>();
            int used = 0;
            foreach (var (piece, size) in PackedBatch.Pieces(subset, options.PieceTokens))
            {
                if (current.Count > 0 && used + size > options.MicroBatchTokens)
                {
                    yield return PolicyBatch.Pack(indices, samples, current);
                    current.Clear();
                    used = 0;
                }
                current.Add(piece);
                used += size;
            }
            if (current.Count > 0) yield return PolicyBatch.Pack(indices, samples, current);
            yield break;
        }
        var rows = new List<int>();
        int longest = 0;
        foreach (int i in indices)
        {
            int len = samples[i].Length;
            if (rows.Count > 0 && Math.Max(longest, len) * (rows.Count + 1) > options.MicroBatchTokens)
            {
                yield return PolicyBatch.Padded([.. rows], samples);
                rows.Clear();
                longest = 0;
            }
            rows.Add(i);
            longest = Math.Max(longest, len);
        }
        if (rows.Count > 0) yield return PolicyBatch.Padded([.. rows], samples);
    }

    public void Dispose() => optimizer.Dispose();
}
