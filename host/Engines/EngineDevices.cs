using System.Globalization;
using TreePO.Engine.Native;
using TreePO.Hosting.Options;

namespace TreePO.Hosting.Engines;

/// <summary>
/// The engines of a silo as <c>Engine:Devices</c> names them: a count ("2": engine i on <c>Engine:Device</c>'s rule,
/// "auto" being cuda:i when this process sees that GPU and the CPU otherwise), or a list of devices, one engine each
/// ("cuda:0,cuda:1"; "cuda": every GPU this process sees; "cpu"; "cpu,cpu": two CPU engines). A count never loads
/// TorchSharp to be counted, so silos that only host trees and the simulated engines of `bench scale` stay light.
/// </summary>
public sealed class EngineDevices
{
    const string Key = "Engine:Devices";
    readonly string[]? listed;
    readonly string rule;

    EngineDevices(int count, string[]? listed, string rule)
    {
        Count = count;
        this.listed = listed;
        this.rule = rule;
    }

    /// <summary>Engines this silo offers.</summary>
    public int Count { get; }

    /// <summary>The device of engine <paramref name="engine"/> ("cpu", "cuda:1").</summary>
    public string NameOf(int engine)
    {
        if (engine < 0 || engine >= Count) throw new ArgumentOutOfRangeException(nameof(engine), engine, $"this silo has {Count} engine(s)");
        if (listed is not null) return listed[engine];
        switch (rule)
        {
            case "cpu": return "cpu";
            case "cuda": return $"cuda:{engine}";
            default:
                var gpus = DeviceName.CudaDevices();
                return engine < gpus.Count ? gpus[engine] : "cpu";
        }
    }

    /// <summary>Every engine's device, in engine order.</summary>
    public IReadOnlyList<string> Names => [.. Enumerable.Range(0, Count).Select(NameOf)];

    /// <summary>What is wrong with the value as written (null: nothing), without loading TorchSharp: the options
    /// tree's validation.</summary>
    public static string? Check(string devices, string device)
    {
        string spec = devices.Trim();
        if (int.TryParse(spec, NumberStyles.None, CultureInfo.InvariantCulture, out _)) return null;
        if (spec.Length == 0 || spec.StartsWith('-'))
            return $"'{devices}' is not a count (0 or more) or a list of devices (cpu, cuda, cuda:N)";
        foreach (string item in spec.Split(','))
            if (DeviceName.Problem(item.Trim(), Key) is not null)
                return $"'{item.Trim()}' is not a device (cpu, cuda, cuda:N); the value is a count or a comma-separated list of devices";
        if (!device.Equals("auto", StringComparison.OrdinalIgnoreCase))
            return $"lists devices, so Engine:Device='{device}' does not apply (it chooses the device of each engine of a count): leave it auto";
        return null;
    }

    /// <summary>The engines <paramref name="options"/> describe. A list naming "cuda" loads TorchSharp to count the
    /// GPUs, and fails, naming the key, when this process sees none.</summary>
    public static EngineDevices Of(EngineHostOptions options)
    {
        if (Check(options.Devices, options.Device) is { } error) throw new ArgumentException($"{Key}: {error}");
        string spec = options.Devices.Trim();
        if (int.TryParse(spec, NumberStyles.None, CultureInfo.InvariantCulture, out int count))
            return new EngineDevices(count, null, options.Device.ToLowerInvariant());
        var names = new List<string>();
        foreach (string raw in spec.Split(','))
        {
            string item = raw.Trim().ToLowerInvariant();
            if (item != "cuda")
            {
                names.Add(item);
                continue;
            }
            var gpus = DeviceName.CudaDevices();
            if (gpus.Count == 0)
                throw new ArgumentException(
                    $"{Key} lists 'cuda', but this process sees no CUDA device (a CUDA libtorch is used through {ExternalTorch.LibTorchVariable}: docs/deploy.md)");
            names.AddRange(gpus);
        }
        return new EngineDevices(names.Count, [.. names], "auto");
    }
}
