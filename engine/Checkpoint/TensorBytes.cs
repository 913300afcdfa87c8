using TorchSharp;
using static TorchSharp.torch;

namespace TreePO.Engine.Checkpoint;

/// <summary>
/// A CPU tensor's storage as spans, without copying: <c>Tensor.bytes</c> spans a contiguous tensor's memory from
/// its storage's first element and at most 2 GB, so larger or offset tensors go through fresh slices.
/// </summary>
public static class TensorBytes
{
    /// <summary>The largest span handed out at once (a multiple of every element size).</summary>
    public const long MaxSpanBytes = 1L << 30;

    public delegate void ReadSpan(ReadOnlySpan<byte> bytes);

    /// <summary>Hands <paramref name="t"/>'s bytes, in order, to <paramref name="read"/>.</summary>
    public static void Read(Tensor t, ReadSpan read)
    {
        if (t.device_type != DeviceType.CPU) throw new ArgumentException("TensorBytes needs a CPU tensor");
        long bytes = t.NumberOfElements * t.ElementSize;
        if (bytes == 0) return;
        if (Direct(t, bytes))
        {
            read(t.bytes);
            return;
        }
        using var flat = t.reshape(-1);
        long step = MaxSpanBytes / t.ElementSize;
        for (long s = 0; s < flat.shape[0]; s += step)
        {
            using var part = flat.narrow(0, s, Math.Min(step, flat.shape[0] - s)).clone();   // fresh: starts its own storage
            read(part.bytes);
        }
    }

    /// <summary>The writable bytes of a fresh tensor (contiguous, its storage's start, under <see cref="MaxSpanBytes"/>),
    /// as made by <see cref="NewBuffer"/>.</summary>
    public static Span<byte> Writable(Tensor t)
    {
        long bytes = t.NumberOfElements * t.ElementSize;
        if (!Direct(t, bytes)) throw new ArgumentException("only a fresh contiguous CPU tensor under 1 GB can be written in place");
        return t.bytes;
    }

    /// <summary>A 1-D tensor of <paramref name="elements"/> whose bytes <see cref="Writable"/> spans.</summary>
    public static Tensor NewBuffer(long elements, ScalarType dtype)
    {
        var t = empty(elements, dtype);
        if (t.NumberOfElements * t.ElementSize > MaxSpanBytes) { t.Dispose(); throw new ArgumentException($"a buffer of {elements} {dtype} exceeds {MaxSpanBytes} bytes"); }
        return t;
    }

    static bool Direct(Tensor t, long bytes) =>
        t.device_type == DeviceType.CPU && t.is_contiguous() && t.storage_offset() == 0 && bytes <= MaxSpanBytes;
}
