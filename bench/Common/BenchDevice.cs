using System.Text.RegularExpressions;
using TorchSharp;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Bench.Common;

/// <summary>The device a benchmark runs on: "cpu", "cuda" or "cuda:N", opened only if this process sees it (a
/// benchmark asked for a GPU that is not there stops; it never measures the CPU in its place).</summary>
public static partial class BenchDevice
{
    public static bool IsName(string name) => Name().IsMatch(name.Trim().ToLowerInvariant());

    public static Device Open(string name)
    {
        TorchRuntime.EnsureLoaded();
        var dev = device(name.Trim().ToLowerInvariant());
        if (dev.type != DeviceType.CUDA) return dev;
        if (!cuda.is_available())
            throw new InvalidOperationException(
                $"--device {name}: this process sees no CUDA device (a CUDA libtorch is used through {ExternalTorch.LibTorchVariable}: docs/deploy.md)");
        if (dev.index >= cuda.device_count())
            throw new InvalidOperationException($"--device {name}: this process sees {cuda.device_count()} CUDA device(s)");
        return dev;
    }

    /// <summary>Waits for the device's queued work, so that a wall-clock interval covers it (GPU calls return before
    /// their kernels run).</summary>
    public static void Synchronize(Device dev)
    {
        if (dev.type == DeviceType.CUDA) cuda.synchronize(dev);
    }

    [GeneratedRegex("^(cpu|cuda|cuda:[0-9]+)$")]
    private static partial Regex Name();
}
