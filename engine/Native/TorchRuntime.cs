using TorchSharp;
using TreePO.Build;

namespace TreePO.Engine.Native;

/// <summary>
/// The first use of TorchSharp goes through here, so that a native load failure names its real cause instead of
/// TorchSharp's "missing libtorch-cpu-linux-x64 reference" message.
/// </summary>
public static class TorchRuntime
{
    static readonly object Gate = new();
    static bool loaded;

    public static void EnsureLoaded()
    {
        if (Volatile.Read(ref loaded)) return;
        lock (Gate)
        {
            if (loaded) return;
            ExternalTorch.LoadConfigured();   // before TorchSharp's first call, or it loads the shipped CPU libtorch
            try
            {
                using var probe = torch.ones(1);
                if (probe.sum().item<float>() != 1f) throw new InvalidOperationException("torch.ones(1) gave a wrong sum");
            }
            catch (Exception e)
            {
                throw Diagnose(e);
            }
            loaded = true;
        }
    }

    /// <summary>Reads the state of the native library this process would load, without loading it.</summary>
    public static NativeStatus Inspect()
    {
        string? lib = FindLibrary();
        bool provides = ElfVersionPatch.SystemLibstdcxxProvides(ElfVersionPatch.TorchSharpGlibcxx, out string? sys);
        if (lib is null) return new NativeStatus(null, false, false, provides, sys);
        bool? weak = ElfVersionPatch.IsWeak(lib, ElfVersionPatch.TorchSharpGlibcxx);
        return new NativeStatus(lib, weak is not null, weak == true, provides, sys);
    }

    public static string? FindLibrary()
    {
        if (ExternalTorch.Configured is { } external) return external;
        string baseDir = AppContext.BaseDirectory;
        string[] candidates =
        {
            Path.Combine(baseDir, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"),
            Path.Combine(baseDir, "libLibTorchSharp.so"),
            Path.Combine(baseDir, "cpu", "libLibTorchSharp.so"),
        };
        return candidates.FirstOrDefault(File.Exists);
    }

    static Exception Diagnose(Exception original)
    {
        NativeStatus status;
        try { status = Inspect(); }
        catch (Exception) { return new InvalidOperationException("TorchSharp failed to load: " + original.Message, original); }

        if (!status.Loadable)
            return new InvalidOperationException(
                $"TorchSharp's native library cannot load: {status.LibraryPath} requires {ElfVersionPatch.TorchSharpGlibcxx}, " +
                $"which this system's libstdc++ ({status.SystemLibrary ?? "not found"}) does not provide. " +
                "The build step 'TreePORepairTorchNativeAfterBuild' (build/TorchSharpNativeRepair.targets) marks that " +
                "requirement weak; rebuild with 'dotnet build' (or 'dotnet publish') so that it runs. " +
                $"(TorchSharp said: {FirstLine(original.GetBaseException().Message)})", original);
        return new InvalidOperationException(
            $"TorchSharp failed to load ({status.Describe()}): {original.GetBaseException().Message}", original);
    }

    static string FirstLine(string s)
    {
        int nl = s.IndexOf('\n');
        return (nl < 0 ? s : s[..nl]).Trim();
    }
}
