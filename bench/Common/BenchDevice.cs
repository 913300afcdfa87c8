using TorchSharp;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Bench.Common;

/// <summary>The device a benchmark runs on (<c>--device</c>: cpu, cuda or cuda:N), opened only if this process sees it:
/// a benchmark asked for a GPU that is not there stops, it never measures the CPU in its place.</summary>
public static class BenchDevice
{
    public static Device Open(string name) => DeviceName.Resolve(name, "--device");

    /// <summary>Waits for the device's queued work, so that a wall-clock interval covers it (GPU calls return before
    /// their kernels run).</summary>
    public static void Synchronize(Device dev)
    {
        if (dev.type == DeviceType.CUDA) cuda.synchronize(dev);
    }
}
