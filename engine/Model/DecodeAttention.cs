using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Model;

/// <summary>
/// Attention for every single-token (decode) row of a step in one pass over host memory, on a CPU in fp32: each row
/// reads exactly its own slot's keys, whatever the other rows' slots and lengths. libtorch's CPU attention kernel pays
/// a few dozen microseconds of fixed work per call, and a step of a tree's paths (trees on slots apart, their paths at
/// neighbouring depths) made about 14 calls a layer against the sequential step's 4; here a step makes one per layer,
/// with no padding and no masks. Grouped-query: query head h reads KV head h / g, as <see cref="Qwen2Attention"/>.
/// Runs on the calling (model) thread, or on as many threads as libtorch's pool has (the rows split between them).
/// </summary>
internal static unsafe class DecodeAttention
{
    [ThreadStatic] static float[]? scoresBuffer;

    // Optimised from the first call (here and below): tier-0 code of these loops is several times slower, and a
    // rollout's first steps would pay it.
    /// <summary>
    /// q <c>[n, heads, D]</c> (any strides; made contiguous), keys and values the cache's <c>[slots, kvHeads, maxLen, D]</c>
    /// (contiguous); row i attends to keys <c>[0, lengths[i])</c> of slot <c>slots[i]</c>. Returns <c>[n, heads * D]</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Tensor Attend(Tensor q, Tensor keys, Tensor values, int[] slots, int[] lengths)
    {
        long n = q.size(0);
        int heads = (int)q.size(1), headDim = (int)q.size(2);
        int slotCount = (int)keys.size(0), kvHeads = (int)keys.size(1), maxLen = (int)keys.size(2);
        if (slots.Length != n || lengths.Length != n) throw new ArgumentException($"{n} rows but {slots.Length} slots and {lengths.Length} lengths");
        if (q.dtype != ScalarType.Float32 || keys.dtype != ScalarType.Float32 || values.dtype != ScalarType.Float32)
            throw new ArgumentException("decode attention on the host takes fp32 only");
        if (!keys.is_contiguous() || !values.is_contiguous()) throw new ArgumentException("the KV cache must be contiguous");
        if (heads % kvHeads != 0) throw new ArgumentException($"{heads} query heads do not group over {kvHeads} KV heads");
        for (int i = 0; i < n; i++)
            if ((uint)slots[i] >= (uint)slotCount || lengths[i] < 1 || lengths[i] > maxLen)
                throw new ArgumentException($"row {i}: slot {slots[i]} with {lengths[i]} keys is outside the cache ({slotCount} slots of {maxLen})");

        var qc = HostMemory.Contiguous(q);
        var output = empty([n, heads * headDim], ScalarType.Float32, q.device);
        nint qp = (nint)HostMemory.Floats(qc), kp = (nint)HostMemory.Floats(keys), vp = (nint)HostMemory.Floats(values),
            op = (nint)HostMemory.Floats(output);
        int g = heads / kvHeads;
        float scale = 1f / MathF.Sqrt(headDim);
        // Rows split over the threads libtorch would use (its pool idles meanwhile); the built-in model's engine runs
        // one thread, and the pass then stays on the model thread.
        int threads = Math.Min(get_num_threads(), (int)n);
        if (threads <= 1) Rows(0, (int)n);
        else Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads },
            part => Rows((int)(n * part / threads), (int)(n * (part + 1) / threads)));

        void Rows(int from, int to)
        {
            var scores = Scores(g * maxLen);
            for (int i = from; i < to; i++)
                for (int kh = 0; kh < kvHeads; kh++)
                {
                    long cacheRow = ((long)slots[i] * kvHeads + kh) * maxLen * headDim;
                    long head = (i * (long)heads + kh * g) * headDim;   // the group's g query heads, side by side
                    Group((float*)qp + head, (float*)kp + cacheRow, (float*)vp + cacheRow, (float*)op + head, g, lengths[i],
                        headDim, scale, scores);
                }
        }
        GC.KeepAlive(qc);
        return output;
    }

    // The g query heads of one KV head: softmax(q . K^T * scale) V over `length` keys, written to `o`. Keys and
    // values are read once for the whole group.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Group(float* q, float* k, float* v, float* o, int g, int length, int headDim, float scale, float[] buffer)
    {
        bool fast = Fma.IsSupported && headDim % 8 == 0;
        fixed (float* scores = buffer)
            for (int j = 0; j < g; j++)
            {
                int t = fast ? Scores8(q + j * headDim, k, scores + j * length, length, headDim, scale) : 0;
                for (; t < length; t++) scores[j * length + t] = Dot(q + j * headDim, k + (long)t * headDim, headDim) * scale;
            }
        int w = Vector<float>.Count;
        for (int j = 0; j < g; j++)
        {
            var s = buffer.AsSpan(j * length, length);
            float max;
            fixed (float* row = s) max = VectorMax.Of(row, length);
            var sums = Vector256<float>.Zero;
            var shift = Vector256.Create(max);
            int t = 0;
            fixed (float* row = s)
                for (; t <= length - 8; t += 8)
                {
                    var e = FastExp.Exp(Vector256.Load(row + t) - shift);
                    Vector256.Store(e, row + t);
                    sums += e;
                }
            float sum = Vector256.Sum(sums);
            for (; t < length; t++) sum += s[t] = MathF.Exp(s[t] - max);
            float inverse = 1f / sum;
            // Output chunk by chunk, the chunk's accumulator kept across all keys.
            float* oj = o + j * headDim;
            fixed (float* p = s)
            {
                int d = fast ? Weighted32(p, v, oj, length, headDim, inverse) : 0;
                for (; d <= headDim - w; d += w)
                {
                    var acc = Vector<float>.Zero;
                    for (int u = 0; u < length; u++) acc = Vector.FusedMultiplyAdd(Vector.Load(v + (long)u * headDim + d), new Vector<float>(p[u]), acc);
                    Vector.Store(acc * inverse, oj + d);
                }
                for (; d < headDim; d++)
                {
                    float acc = 0;
                    for (int u = 0; u < length; u++) acc += v[(long)u * headDim + d] * p[u];
                    oj[d] = acc * inverse;
                }
            }
        }
    }

    // Scores of keys in blocks of 8: eight independent accumulators, then one horizontal reduction for all eight
    // (instead of a reduction per key, which the dot products' short length would leave as most of the work).
    // Returns the keys done; the caller finishes the rest.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static int Scores8(float* q, float* k, float* scores, int length, int headDim, float scale)
    {
        int t = 0;
        var scaleV = Vector256.Create(scale);
        for (; t + 8 <= length; t += 8)
        {
            float* kt = k + (long)t * headDim;
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (int c = 0; c < headDim; c += 8)
            {
                var qv = Avx.LoadVector256(q + c);
                a0 = Fma.MultiplyAdd(qv, Avx.LoadVector256(kt + c), a0);
                a1 = Fma.MultiplyAdd(qv, Avx.LoadVector256(kt + headDim + c), a1);
                a2 = Fma.MultiplyAdd(qv, Avx.LoadVector256(kt + 2 * headDim + c), a2);
                a3 = Fma.MultiplyAdd(qv, Avx.LoadVector256(kt + 3 * headDim + c), a3);
                a4 = Fma.MultiplyAdd(qv, Avx.LoadVector256(kt + 4 * headDim + c), a4);
                a5 = Fma.MultiplyAdd(qv, Avx.LoadVector256(kt + 5 * headDim + c), a5);
                a6 = Fma.MultiplyAdd(qv, Avx.LoadVector256(kt + 6 * headDim + c), a6);
                a7 = Fma.MultiplyAdd(qv, Avx.LoadVector256(kt + 7 * headDim + c), a7);
            }
            // Pairwise sums: each 128-bit half ends with the four keys' partial sums of that half.
            var h0123 = Avx.HorizontalAdd(Avx.HorizontalAdd(a0, a1), Avx.HorizontalAdd(a2, a3));
            var h4567 = Avx.HorizontalAdd(Avx.HorizontalAdd(a4, a5), Avx.HorizontalAdd(a6, a7));
            var sums = Avx.Add(Avx.Permute2x128(h0123, h4567, 0x20), Avx.Permute2x128(h0123, h4567, 0x31));
            Avx.Store(scores + t, Avx.Multiply(sums, scaleV));
        }
        return t;
    }

    // o[d..d+32) = inverse * sum over keys of p[u] * v[u, d..d+32), four accumulators held across all keys; for
    // head sizes that are multiples of 32. Returns the columns done.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static int Weighted32(float* p, float* v, float* o, int length, int headDim, float inverse)
    {
        int d = 0;
        var inv = Vector256.Create(inverse);
        for (; d + 32 <= headDim; d += 32)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            float* vd = v + d;
            for (int u = 0; u < length; u++, vd += headDim)
            {
                var pu = Vector256.Create(p[u]);
                a0 = Fma.MultiplyAdd(Avx.LoadVector256(vd), pu, a0);
                a1 = Fma.MultiplyAdd(Avx.LoadVector256(vd + 8), pu, a1);
                a2 = Fma.MultiplyAdd(Avx.LoadVector256(vd + 16), pu, a2);
                a3 = Fma.MultiplyAdd(Avx.LoadVector256(vd + 24), pu, a3);
            }
            Avx.Store(o + d, Avx.Multiply(a0, inv));
            Avx.Store(o + d + 8, Avx.Multiply(a1, inv));
            Avx.Store(o + d + 16, Avx.Multiply(a2, inv));
            Avx.Store(o + d + 24, Avx.Multiply(a3, inv));
        }
        return d;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.AggressiveInlining)]
    static float Dot(float* a, float* b, int n)
    {
        int w = Vector<float>.Count, d = 0;
        var acc = Vector<float>.Zero;
        for (; d <= n - w; d += w)
            acc = Vector.FusedMultiplyAdd(Vector.Load(a + d), Vector.Load(b + d), acc);
        float sum = Vector.Sum(acc);
        for (; d < n; d++) sum += a[d] * b[d];
        return sum;
    }

    static float[] Scores(int length)
    {
        var b = scoresBuffer;
        if (b is null || b.Length < length) scoresBuffer = b = new float[Math.Max(length, 256)];
        return b;
    }
}
