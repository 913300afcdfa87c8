using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace TreePO.Engine.Native;

/// <summary>
/// The compute device an option names: "cpu", "cuda" (the current CUDA device) or "cuda:N", case-insensitive. One
/// reading for the engine's and the trainer's options, so both accept and refuse the same names in the same words.
/// </summary>
public static class DeviceName
{
    /// <summary>Why <paramref name="name"/> is not a device name, naming <paramref name="option"/>; null when it is one.
    /// The spelling only: whether the device exists is known in the process that will use it (<see cref="Resolve"/>),
    /// which need not be the one that checks the options.</summary>
    public static string? Problem(string? name, string option) =>
        TryParse(name, out _, out _) ? null : $"{option} must be cpu, cuda or cuda:N (got '{name}')";

    /// <summary>The device <paramref name="name"/> names in this process. <see cref="ArgumentException"/>, naming
    /// <paramref name="option"/>, for a malformed name, and for CUDA where this process has none (TorchSharp's CPU build,
    /// or no GPU or driver) or fewer devices than the index: refused here rather than deep in the first tensor op.</summary>
    public static Device Resolve(string? name, string option)
    {
        if (!TryParse(name, out bool cudaDevice, out int index)) throw new ArgumentException(Problem(name, option));
        if (!cudaDevice) return CPU;
        TorchRuntime.EnsureLoaded();
        if (!cuda.is_available())
            throw new ArgumentException($"{option} is '{name}', but CUDA is not available in this process " +
                $"(TorchSharp's CPU build: a CUDA libtorch is loaded through {ExternalTorch.LibTorchVariable}, docs/deploy.md; or no GPU or driver); use cpu");
        int count = cuda.device_count();
        if (index >= count)
            throw new ArgumentException($"{option} is '{name}', but this process sees {count} CUDA device{(count == 1 ? "" : "s")} (cuda:0..cuda:{count - 1})");
        return device(DeviceType.CUDA, index);
    }

    /// <summary>The CUDA devices this process sees, as names ("cuda:0", ...); none with TorchSharp's CPU build.</summary>
    public static IReadOnlyList<string> CudaDevices()
    {
        TorchRuntime.EnsureLoaded();
        return cuda.is_available() ? [.. Enumerable.Range(0, cuda.device_count()).Select(i => $"cuda:{i}")] : [];
    }

    // index -1: plain "cuda", libtorch's current device.
    static bool TryParse(string? name, out bool cudaDevice, out int index)
    {
        cudaDevice = false;
        index = -1;
        if (name is null) return false;
        if (name.Equals("cpu", StringComparison.OrdinalIgnoreCase)) return true;
        if (name.Equals("cuda", StringComparison.OrdinalIgnoreCase)) return cudaDevice = true;
        const string Prefix = "cuda:";
        if (!name.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase)) return false;
        string digits = name[Prefix.Length..];
        if (digits.Length == 0 || !digits.All(char.IsAsciiDigit)
            || !int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out index)) return false;
        return cudaDevice = true;
    }
}
