using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace TreePO.Engine.Native;

/// <summary>
/// Raw access to a CPU tensor's elements, for the cached step's passes over host memory (<c>Model/Host*</c>): they
/// replace several small libtorch calls each, whose fixed cost a call is most of a small model's step. A pointer is
/// valid while the tensor is alive: callers keep the tensor referenced until the pass returns.
/// </summary>
internal static unsafe class HostMemory
{
    [DllImport("LibTorchSharp")]
    static extern IntPtr THSTensor_data(IntPtr handle);

    /// <summary>Whether the passes over host memory serve a model on this device in this dtype (a CPU, fp32).</summary>
    public static bool Serves(Device device, ScalarType dtype) => device.type == DeviceType.CPU && dtype == ScalarType.Float32;

    /// <summary>The tensor itself when its elements are already laid out in order, else a contiguous copy: libtorch's
    /// <c>contiguous()</c> makes a new handle (and a wrapper to dispose) even when nothing moves.</summary>
    public static Tensor Contiguous(Tensor t) => t.is_contiguous() ? t : t.contiguous();

    /// <summary>Whether two tensors have the same sizes (without <c>shape</c>, which allocates an array a call).</summary>
    public static bool SameShape(Tensor a, Tensor b)
    {
        long dims = a.dim();
        if (b.dim() != dims) return false;
        for (int d = 0; d < dims; d++)
            if (a.size(d) != b.size(d)) return false;
        return true;
    }

    /// <summary>The first byte of a CPU tensor of any element type (row copies that move bytes, whatever they hold).</summary>
    public static byte* Bytes(Tensor t)
    {
        if (t.device_type != DeviceType.CPU) throw new ArgumentException($"a host pass reads CPU tensors, not {t.device}");
        return (byte*)THSTensor_data(t.Handle);
    }

    /// <summary>The first element of a contiguous fp32 CPU tensor (or of a view whose rows the caller indexes itself).</summary>
    public static float* Floats(Tensor t)
    {
        if (t.dtype != ScalarType.Float32 || t.device_type != DeviceType.CPU)
            throw new ArgumentException($"a host pass reads fp32 CPU tensors, not {t.dtype} on {t.device}");
        return (float*)THSTensor_data(t.Handle);
    }
}
