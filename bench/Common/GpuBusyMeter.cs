using System.Diagnostics;
using System.Globalization;

namespace TreePO.Bench.Common;

/// <summary>
/// The share of time a GPU runs kernels while a workload repeats: nvidia-smi's utilization.gpu ("percent of time over
/// the past sample period during which one or more kernels was executing"), sampled every 100 ms. TorchSharp 0.107
/// exposes no CUDA events, and a decode step that issues many small ops may leave the GPU idle between launches: this
/// says how much, so that fusing ops or CUDA graphs is chosen from a measurement.
/// </summary>
public sealed class GpuBusyMeter : IDisposable
{
    readonly Process process;
    readonly List<(DateTime At, double Busy)> samples = [];

    GpuBusyMeter(Process process)
    {
        this.process = process;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && double.TryParse(line.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double percent))
                lock (samples) samples.Add((DateTime.UtcNow, percent / 100));
        };
        process.BeginOutputReadLine();
    }

    /// <summary>Starts sampling GPU <paramref name="index"/>; null when nvidia-smi cannot be run here.</summary>
    public static GpuBusyMeter? Start(int index)
    {
        try
        {
            var p = Process.Start(new ProcessStartInfo("nvidia-smi",
                ["--query-gpu=utilization.gpu", "--format=csv,noheader,nounits", "-lms", "100", "-i", index.ToString(CultureInfo.InvariantCulture)])
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            });
            return p is null ? null : new GpuBusyMeter(p);
        }
        catch (System.ComponentModel.Win32Exception) { return null; }
    }

    /// <summary>Runs <paramref name="work"/> repeatedly for <paramref name="duration"/> and returns the mean busy share
    /// of the samples taken while it ran (the first 300 ms left out: the sampler's period still covers the time before);
    /// null when no sample came.</summary>
    public double? Measure(Action work, TimeSpan duration)
    {
        var start = DateTime.UtcNow;
        while (DateTime.UtcNow - start < duration) work();
        var end = DateTime.UtcNow;
        lock (samples)
        {
            var during = samples.Where(s => s.At >= start.AddMilliseconds(300) && s.At <= end).Select(s => s.Busy).ToList();
            return during.Count > 0 ? during.Average() : null;
        }
    }

    public void Dispose()
    {
        try { if (!process.HasExited) process.Kill(); } catch (InvalidOperationException) { }
        process.Dispose();
    }
}
