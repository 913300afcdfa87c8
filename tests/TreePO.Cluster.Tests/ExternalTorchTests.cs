using TreePO.Cluster.Tests.Support;
using TreePO.Testing;

namespace TreePO.Cluster.Tests;

/// <summary>
/// TREEPO_LIBTORCH: a build without the shipped libtorch runs on libraries from another folder, as a GPU machine runs
/// on PyTorch's CUDA libtorch (docs/deploy.md, "Engines on GPUs"). Here the "other" libtorch is the CPU one, moved out of
/// a copy of the client's build: the loading path is the same, only the libraries differ.
/// </summary>
public sealed class ExternalTorchTests
{
    static readonly string[] Kept = ["libHarfBuzzSharp.so", "libSkiaSharp.so"];

    /// <summary>A copy of the client's build whose libtorch and LibTorchSharp are in a folder of their own (links to the
    /// built files: libtorch_cpu alone is 460 MB).</summary>
    static (TempFolder Root, string App, string Torch) SplitBuild()
    {
        var root = new TempFolder("treepo-external-torch-");
        string built = Path.GetDirectoryName(Repo.ClientDll)!;
        string app = Path.Combine(root, "app"), torch = Path.Combine(root, "torch");
        Directory.CreateDirectory(torch);
        string natives = Path.Combine("runtimes", "linux-x64", "native");
        foreach (string file in Directory.EnumerateFiles(built, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(built, file);
            if (relative.StartsWith("runtimes" + Path.DirectorySeparatorChar) && !relative.StartsWith(natives)) continue;   // other platforms
            if (relative.StartsWith(natives) && !Kept.Contains(Path.GetFileName(file)))
            {
                File.CreateSymbolicLink(Path.Combine(torch, Path.GetFileName(file)), file);
                continue;
            }
            string target = Path.Combine(app, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return (root, Path.Combine(app, "treepo.dll"), torch);
    }

    [Fact]
    public async Task Doctor_runs_on_the_libtorch_the_variable_names()
    {
        var (root, app, torch) = SplitBuild();
        using var _ = root;
        using var p = ChildProcess.Dotnet("doctor", app, ["doctor"], new Dictionary<string, string> { ["TREEPO_LIBTORCH"] = torch });
        int rc = await p.WaitForExitAsync(TimeSpan.FromSeconds(120));
        Assert.True(rc == 0, $"treepo doctor exited {rc}:\n{p.Tail()}");
        Assert.Contains($"TREEPO_LIBTORCH: {Path.Combine(torch, "libc10.so")}", p.Output.Replace("\n", "").Replace("│", ""));
        Assert.Contains("all checks passed", p.Output);
        Assert.False(Directory.Exists(Path.Combine(root, "app", "cpu")), "TorchSharp fell back to copying its NuGet packages beside the app");
    }

    [Fact]
    public async Task A_wrong_folder_is_named_and_nothing_else_is_loaded()
    {
        var (root, app, _) = SplitBuild();
        using var _r = root;
        string missing = Path.Combine(root, "nowhere");
        using var p = ChildProcess.Dotnet("doctor", app, ["doctor"], new Dictionary<string, string> { ["TREEPO_LIBTORCH"] = missing });
        int rc = await p.WaitForExitAsync(TimeSpan.FromSeconds(120));
        Assert.Equal(2, rc);
        Assert.Contains($"TREEPO_LIBTORCH={missing}: no such folder", p.Output.Replace("\n", ""));
    }

    [Fact]
    public async Task A_build_that_carries_its_own_libtorch_refuses_the_variable()
    {
        using var torch = new TempFolder("treepo-external-torch-");
        File.WriteAllText(Path.Combine(torch, "libtorch_cpu.so"), "");
        File.WriteAllText(Path.Combine(torch, "libLibTorchSharp.so"), "");
        using var p = ChildProcess.Dotnet("doctor", Repo.ClientDll, ["doctor"], new Dictionary<string, string> { ["TREEPO_LIBTORCH"] = torch });
        int rc = await p.WaitForExitAsync(TimeSpan.FromSeconds(120));
        Assert.Equal(2, rc);
        Assert.Contains("TREEPO_LIBTORCH is set, but this build carries its own libtorch", p.Output.Replace("\n", ""));
    }
}
