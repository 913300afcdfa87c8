using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using TreePO.Core.Protocol;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Sampling;

/// <summary>
/// <see cref="TokenSampler"/>'s draw in one pass over host memory, for fp32 logits on a CPU and rows without top-k or
/// top-p (the default everywhere): per row the maximum, the exponentials once, the token by inverse CDF with the row's
/// uniform (the first index whose running sum exceeds the uniform times the total, as <c>searchsorted(right)</c> does on
/// the normalised CDF) and its untempered log-prob. libtorch takes two dozen calls a step for the same, a fixed cost
/// that at the built-in model's size was a tenth of a step. Sums add in another order than libtorch's, so a uniform that
/// falls within rounding of a CDF boundary may pick the neighbouring token.
/// </summary>
internal static unsafe class HostSampler
{
    [ThreadStatic] static float[]? exps;

    /// <summary>Whether this pass draws the rows: fp32 CPU logits <c>[R, vocab]</c>, no row with top-k or top-p.</summary>
    public static bool Serves(Tensor logits, IReadOnlyList<SampleRow> rows)
    {
        if (!HostMemory.Serves(logits.device, logits.dtype) || logits.dim() != 2) return false;
        long vocab = logits.size(1);
        foreach (var r in rows)
            if (r.Params.TopP < 1 || (r.Params.TopK > 0 && r.Params.TopK < vocab)) return false;
        return true;
    }

    // Optimised from the first call, as its helpers: tier-0 vector code is many times slower, and a rollout's first
    // steps would pay it.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (int[] Tokens, float[] LogProbs) Sample(Tensor logits, IReadOnlyList<SampleRow> rows)
    {
        var source = HostMemory.Contiguous(logits);
        long count = source.size(0);
        int vocab = (int)source.size(1);
        var tokens = new int[rows.Count];
        var logProbs = new float[rows.Count];
        var buffer = exps is { } b && b.Length >= vocab ? b : exps = new float[vocab];
        float* all = HostMemory.Floats(source);
        fixed (float* e = buffer)
            for (int i = 0; i < rows.Count; i++)
            {
                var row = rows[i];
                if ((ulong)row.LogitRow >= (ulong)count) throw new ArgumentException($"sample row {i} reads logits row {row.LogitRow} of {count}");
                float* l = all + (long)row.LogitRow * vocab;
                float max = VectorMax.Of(l, vocab);
                float total = Exponentials(l, e, vocab, max, 1f);
                float logSumExp = max + MathF.Log(total);
                float temperature = row.Params.Temperature;
                int token;
                if (temperature <= 0) token = ArgMax(l, vocab, max);
                else
                {
                    // Tempered: exp(l/T - max/T) (division is monotonic, so max/T is the tempered maximum); T = 1 reuses the sums.
                    if (temperature != 1f) total = Exponentials(l, e, vocab, max / temperature, temperature);
                    token = Inverse(e, vocab, (float)row.Uniform * total);
                }
                tokens[i] = token;
                logProbs[i] = l[token] - logSumExp;
            }
        GC.KeepAlive(source);
        return (tokens, logProbs);
    }

    /// <summary>e[j] = exp(l[j] / T - shift) for <paramref name="divisor"/> T (untempered when 1); returns their sum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static float Exponentials(float* l, float* e, int n, float shift, float divisor)
    {
        int w = Vector256<float>.Count, j = 0;
        var s = Vector256.Create(shift);
        var acc = Vector256<float>.Zero;
        if (divisor == 1f)
            for (; j <= n - w; j += w)
            {
                var x = FastExp.Exp(Vector256.Load(l + j) - s);
                Vector256.Store(x, e + j);
                acc += x;
            }
        else
        {
            var t = Vector256.Create(divisor);
            for (; j <= n - w; j += w)
            {
                var x = FastExp.Exp(Vector256.Load(l + j) / t - s);
                Vector256.Store(x, e + j);
                acc += x;
            }
        }
        float sum = Vector256.Sum(acc);
        for (; j < n; j++) sum += e[j] = MathF.Exp(l[j] / divisor - shift);
        return sum;
    }

    // The first index holding the maximum, as argmax does.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static int ArgMax(float* l, int n, float max)
    {
        for (int j = 0; j < n; j++)
            if (l[j] == max) return j;
        return n - 1;   // NaN logits: no index equals the maximum
    }

    // The first j whose running sum of e exceeds target, else the last index.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static int Inverse(float* e, int n, float target)
    {
        float running = 0;
        for (int j = 0; j < n; j++)
        {
            running += e[j];
            if (running > target) return j;
        }
        return n - 1;
    }
}
