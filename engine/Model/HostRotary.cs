using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Model;

/// <summary>
/// The cached step's rotary embedding and K/V write in one pass over host memory (a CPU model in fp32): from the fused
/// q/k/v product <c>[N, heads + 2 kvHeads, D]</c>, each row's query and key heads are rotated by its position's row of
/// the tables, the queries written out and the keys and values written straight into their cache rows. In libtorch that
/// is a dozen calls a layer (views, a roll, three products and sums, two reshapes, two index copies). The rotation
/// rounds as <see cref="RotaryTable.Apply"/> does (<c>x cos</c> and <c>swap(x) sin</c> rounded, then added), so the
/// values are libtorch's to the bit.
/// </summary>
internal static unsafe class HostRotary
{
    /// <summary>Returns the rotated queries <c>[N, heads, D]</c>; keys and values land in rows <paramref name="writeRows"/>
    /// (<c>[N * kvHeads]</c>, row-major over tokens then KV heads) of the flattened cache <c>[rows, D]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Tensor Apply(Tensor qkv, int heads, int kvHeads, RotaryTable rope, long[] positions, long[] writeRows,
        Tensor flatKeys, Tensor flatValues)
    {
        var all = HostMemory.Contiguous(qkv);
        long n = all.size(0);
        int headDim = (int)all.size(2), half = headDim / 2;
        if (all.size(1) != heads + 2 * kvHeads) throw new ArgumentException($"q/k/v rows hold {all.size(1)} heads, expected {heads + 2 * kvHeads}");
        if (positions.Length != n || writeRows.Length != n * kvHeads)
            throw new ArgumentException($"{n} rows but {positions.Length} positions and {writeRows.Length} cache rows");
        if (rope.Cos.size(1) != headDim || flatKeys.size(1) != headDim || !flatKeys.is_contiguous() || !flatValues.is_contiguous())
            throw new ArgumentException("the rotary tables and the cache must be contiguous rows of the head size");
        long cacheRows = flatKeys.size(0);
        foreach (long p in positions)
            if ((ulong)p >= (ulong)rope.Length) throw new ArgumentException($"position {p} is outside the rotary table ({rope.Length})");
        foreach (long w in writeRows)
            if ((ulong)w >= (ulong)cacheRows) throw new ArgumentException($"cache row {w} is outside the cache ({cacheRows} rows)");

        var queries = empty([n, heads, headDim], ScalarType.Float32, all.device);
        float* src = HostMemory.Floats(all), q = HostMemory.Floats(queries), k = HostMemory.Floats(flatKeys), v = HostMemory.Floats(flatValues);
        float* cos = HostMemory.Floats(rope.Cos), sin = HostMemory.Floats(rope.SignedSin);
        int stride = (heads + 2 * kvHeads) * headDim;
        long bytes = headDim * sizeof(float);
        for (long r = 0; r < n; r++)
        {
            float* row = src + r * stride;
            float* c = cos + positions[r] * headDim, s = sin + positions[r] * headDim;
            for (int h = 0; h < heads; h++) Rotate(row + h * headDim, c, s, q + (r * heads + h) * headDim, headDim, half);
            for (int h = 0; h < kvHeads; h++)
            {
                long target = writeRows[r * kvHeads + h] * headDim;
                Rotate(row + (heads + h) * headDim, c, s, k + target, headDim, half);
                Buffer.MemoryCopy(row + (heads + kvHeads + h) * headDim, v + target, bytes, bytes);
            }
        }
        GC.KeepAlive(all);
        return queries;
    }

    // o = x cos + [x2, x1] sin (the sine's sign carried by the table), each product rounded before the sum.
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.AggressiveInlining)]
    static void Rotate(float* x, float* cos, float* sin, float* o, int headDim, int half)
    {
        int width = Vector256<float>.Count, d = 0;
        if (half % width == 0)
            for (; d < headDim; d += width)
            {
                int swapped = d < half ? d + half : d - half;
                Vector256.Store(Vector256.Load(x + d) * Vector256.Load(cos + d) + Vector256.Load(x + swapped) * Vector256.Load(sin + d), o + d);
            }
        for (; d < headDim; d++) o[d] = x[d] * cos[d] + x[d < half ? d + half : d - half] * sin[d];
    }
}
