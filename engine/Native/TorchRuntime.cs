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
            // On a thread of its own, like the single-thread default set after it: the calling thread has made no
            // libtorch call yet, so it takes that default at its first parallel op.
            try
            {
                OnOwnThread(() =>
                {
                    using var one = torch.ones(1);
                    if (one.sum().item<float>() != 1f) throw new InvalidOperationException("torch.ones(1) gave a wrong sum");
                });
            }
            catch (Exception e)
            {
                throw Diagnose(e);
            }
            SingleThreadDefault();
            loaded = true;
        }
    }

    /// <summary>
    /// Sets libtorch's process-wide intra-op thread count, which a thread copies at its first parallel op, to one: every
    /// thread that is not a model thread (<see cref="Threading.ModelThread"/>, which pins its own count) then runs its
    /// libtorch calls alone. libgomp keeps every thread that ever ran a parallel region with helpers as the master of a
    /// team; once the process has more such threads than cores, every barrier of every team sleeps and wakes instead of
    /// spinning, and a two-thread trainer then switched threads ~5,000 times a second and ran its update at half speed
    /// until the stray team's thread (a thread-pool thread that had loaded an engine's model) happened to exit. Called
    /// from a thread of its own: the count it leaves on the calling thread would otherwise be this one.
    /// </summary>
    public static void SingleThreadDefault() => OnOwnThread(() => torch.set_num_threads(1));

    /// <summary>Runs <paramref name="work"/> on a short-lived thread and waits; its exception is the caller's.</summary>
    static void OnOwnThread(Action work)
    {
        System.Runtime.ExceptionServices.ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try { work(); }
            catch (Exception e) { failure = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e); }
        })
        { IsBackground = true, Name = "treepo-torch" };
        thread.Start();
        thread.Join();
        failure?.Throw();
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
