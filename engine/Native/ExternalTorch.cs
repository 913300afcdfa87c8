using System.Runtime.InteropServices;

namespace TreePO.Engine.Native;

/// <summary>
/// Runs TorchSharp on a libtorch other than the CPU one the build ships: a CUDA build such as PyTorch's own
/// <c>torch/lib</c>, with a LibTorchSharp compiled against it (<c>scripts/build-libtorchsharp.sh</c>). The CUDA
/// TorchSharp packages are not served here, and TorchSharp 0.107's LibTorchSharp is built for libtorch 2.10, so a GPU
/// machine's libtorch needs its own. <see cref="LibTorchVariable"/> names the folder of libtorch's shared libraries and
/// <see cref="LibTorchSharpVariable"/> the LibTorchSharp built for it (or its folder; default: the libtorch folder).
/// Each library is loaded here by its full path, in dependency order, before TorchSharp's first call: TorchSharp then
/// loads "torch_cpu", "torch_cuda" and "LibTorchSharp" by name, and the dynamic loader answers a name with the object
/// already loaded under that soname.
/// </summary>
public static class ExternalTorch
{
    public const string LibTorchVariable = "TREEPO_LIBTORCH";
    public const string LibTorchSharpVariable = "TREEPO_LIBTORCHSHARP";
    public const string LibTorchSharpFile = "libLibTorchSharp.so";

    // A dependency before its dependents; the CUDA ones exist only in a CUDA build.
    static readonly string[] LoadOrder =
        ["libc10.so", "libc10_cuda.so", "libtorch_cpu.so", "libtorch_cuda.so", "libtorch.so"];

    static readonly object Gate = new();
    static Exception? failure;

    /// <summary>What was loaded, or null when <see cref="LibTorchVariable"/> is not set (the shipped CPU libtorch).</summary>
    public static IReadOnlyList<string>? Loaded { get; private set; }

    /// <summary>The LibTorchSharp <see cref="LibTorchVariable"/> and <see cref="LibTorchSharpVariable"/> point at, loaded
    /// or not; null when they are not set or point at nothing usable.</summary>
    public static string? Configured
    {
        get
        {
            if (Loaded is { } loaded) return loaded[^1];
            string? folder = Environment.GetEnvironmentVariable(LibTorchVariable);
            if (string.IsNullOrWhiteSpace(folder)) return null;
            try { return Plan(folder, Environment.GetEnvironmentVariable(LibTorchSharpVariable), AppContext.BaseDirectory)[^1]; }
            catch (InvalidOperationException) { return null; }
        }
    }

    /// <summary>Loads the configured libraries once; a no-op when <see cref="LibTorchVariable"/> is not set. Throws,
    /// naming the variable and the file, when they are set wrongly; the failure repeats on every call, so that no
    /// later TorchSharp use silently falls back to another libtorch.</summary>
    public static void LoadConfigured()
    {
        lock (Gate)
        {
            string? folder = Environment.GetEnvironmentVariable(LibTorchVariable);
            if (string.IsNullOrWhiteSpace(folder)) return;
            if (Loaded is not null) return;
            if (failure is not null) throw new InvalidOperationException(failure.Message, failure);
            try
            {
                Loaded = Load(folder, Environment.GetEnvironmentVariable(LibTorchSharpVariable), AppContext.BaseDirectory);
            }
            catch (InvalidOperationException e)
            {
                failure = e;
                throw;
            }
        }
    }

    /// <summary><see cref="LoadConfigured"/> for a program's first line: the error's message, or null when all is well.</summary>
    public static string? TryLoadConfigured()
    {
        try
        {
            LoadConfigured();
            return null;
        }
        catch (InvalidOperationException e)
        {
            return e.Message;
        }
    }

    /// <summary>The files <see cref="Load"/> would load, in order, or an error naming what is wrong.</summary>
    public static IReadOnlyList<string> Plan(string libTorchFolder, string? libTorchSharp, string applicationFolder)
    {
        string folder = Path.GetFullPath(libTorchFolder);
        if (!Directory.Exists(folder))
            throw new InvalidOperationException($"{LibTorchVariable}={libTorchFolder}: no such folder (give the folder of libtorch's shared libraries, e.g. the output of python3 -c 'import torch, os; print(os.path.join(torch.__path__[0], \"lib\"))')");
        if (!File.Exists(Path.Combine(folder, "libtorch_cpu.so")))
            throw new InvalidOperationException($"{LibTorchVariable}={libTorchFolder}: the folder has no libtorch_cpu.so, so it is not libtorch's library folder");

        string sharp = string.IsNullOrWhiteSpace(libTorchSharp) ? folder : Path.GetFullPath(libTorchSharp);
        if (Directory.Exists(sharp)) sharp = Path.Combine(sharp, LibTorchSharpFile);
        if (!File.Exists(sharp))
            throw new InvalidOperationException(
                $"{LibTorchSharpVariable}: no {LibTorchSharpFile} at {sharp}; build one for this libtorch with scripts/build-libtorchsharp.sh and point {LibTorchSharpVariable} at it");

        // A copy of the shipped CPU libraries beside the application would be found first under the same names.
        string[] shipped = [.. new[] { LibTorchSharpFile, "libtorch_cpu.so", "libc10.so" }
            .SelectMany(f => new[] { Path.Combine(applicationFolder, f), Path.Combine(applicationFolder, "runtimes", "linux-x64", "native", f) })
            .Where(File.Exists)];
        if (shipped.Length > 0)
            throw new InvalidOperationException(
                $"{LibTorchVariable} is set, but this build carries its own libtorch ({string.Join(", ", shipped)}), which TorchSharp would load " +
                "under the same names: run a build without it (scripts/gpu-bundle.sh publishes one) or unset the variable");

        return [.. LoadOrder.Select(f => Path.Combine(folder, f)).Where(File.Exists), sharp];
    }

    static IReadOnlyList<string> Load(string libTorchFolder, string? libTorchSharp, string applicationFolder)
    {
        var files = Plan(libTorchFolder, libTorchSharp, applicationFolder);
        foreach (string file in files)
        {
            try
            {
                NativeLibrary.Load(file);
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
            {
                throw new InvalidOperationException(
                    $"{(file == files[^1] ? LibTorchSharpVariable : LibTorchVariable)}: {file} did not load: {e.Message}" +
                    (file == files[^1] ? " (a LibTorchSharp must be built against this very libtorch: scripts/build-libtorchsharp.sh)" : ""), e);
            }
        }
        return files;
    }
}
