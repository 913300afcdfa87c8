using System.Diagnostics;
using System.Runtime.InteropServices;

namespace TreePO.Bench.Common;

/// <summary>The hardware and software a benchmark ran on, read at run time.</summary>
public sealed record Machine(string Cpu, int LogicalCores, long MemoryBytes, string Os, string Runtime, int TorchThreads,
    string Commit, bool Dirty, DateTimeOffset Date)
{
    public static Machine Describe(int torchThreads)
    {
        var (commit, dirty) = Git();
        return new Machine(CpuModel(), Environment.ProcessorCount, MemTotal(), RuntimeInformation.OSDescription,
            RuntimeInformation.FrameworkDescription, torchThreads, commit, dirty, DateTimeOffset.UtcNow);
    }

    public override string ToString() =>
        $"{Cpu}, {LogicalCores} logical cores visible, {MemoryBytes / (1 << 30)} GiB, {Os}, {Runtime}, {TorchThreads} torch threads; " +
        $"commit {Commit[..Math.Min(12, Commit.Length)]}{(Dirty ? " (uncommitted changes)" : "")}";

    static string CpuModel()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':') is int i and >= 0)
                    return line[(i + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    static long MemTotal()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/meminfo"))
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal)) return ProcessMemory.ParseKb(line["MemTotal:".Length..]);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return 0;
    }

    static (string Commit, bool Dirty) Git()
    {
        string commit = RunGit("rev-parse HEAD") ?? "unknown";
        string? status = RunGit("status --porcelain --untracked-files=no");
        return (commit, !string.IsNullOrWhiteSpace(status));
    }

    static string? RunGit(string arguments)
    {
        try
        {
            // In the program's folder (inside the checkout it was built from), so the commit is the benchmark's own
            // whatever folder it runs from.
            var psi = new ProcessStartInfo("git", arguments)
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = AppContext.BaseDirectory,
            };
            using var p = Process.Start(psi);
            if (p is null) return null;
            string output = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit(5000);
            return p.ExitCode == 0 ? output : null;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return null;
        }
    }
}
