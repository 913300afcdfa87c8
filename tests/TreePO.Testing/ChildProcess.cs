using System.Diagnostics;
using System.Text;

namespace TreePO.Testing;

/// <summary>
/// A process a test or benchmark starts and always ends: its output (stdout and stderr together) is kept for assertions and
/// failure messages, every wait has a deadline, and Dispose kills it (and its children) if it still runs.
/// </summary>
public sealed class ChildProcess : IDisposable
{
    readonly Process process;
    readonly StringBuilder output = new();

    ChildProcess(Process process, string name)
    {
        this.process = process;
        Name = name;
    }

    public string Name { get; }
    public int Id => process.Id;
    public bool HasExited => process.HasExited;
    public int ExitCode => process.ExitCode;

    public string Output { get { lock (output) return output.ToString(); } }

    public static ChildProcess Start(string name, string file, IEnumerable<string> args, IDictionary<string, string>? env = null,
        string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Directory.GetCurrentDirectory(),
        };
        foreach (string a in args) info.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) info.Environment[k] = v;
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var p = new Process { StartInfo = info };
        var child = new ChildProcess(p, name);
        p.OutputDataReceived += (_, e) => child.Append(e.Data);
        p.ErrorDataReceived += (_, e) => child.Append(e.Data);
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return child;
    }

    public static ChildProcess Dotnet(string name, string dll, IEnumerable<string> args, IDictionary<string, string>? env = null,
        string? workingDirectory = null) => Start(name, "dotnet", [dll, .. args], env, workingDirectory);

    void Append(string? line)
    {
        if (line is null) return;
        lock (output) output.AppendLine(line);
    }

    /// <summary>Waits until the output contains <paramref name="text"/>; fails with the output if the process exits
    /// first or the deadline passes.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (process.HasExited)
                throw new InvalidOperationException($"{Name} exited ({process.ExitCode}) before printing '{text}':\n{Tail()}");
            if (clock.Elapsed > timeout)
                throw new TimeoutException($"{Name} did not print '{text}' within {timeout.TotalSeconds:F0} s:\n{Tail()}");
            await Task.Delay(100);
        }
    }

    /// <summary>Waits for the exit; kills the process and fails if it runs past the deadline.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { await process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            Kill();
            throw new TimeoutException($"{Name} did not finish within {timeout.TotalSeconds:F0} s:\n{Tail()}");
        }
        process.WaitForExit();   // drains the output readers
        return process.ExitCode;
    }

    /// <summary>SIGTERM, what `kill PID`, systemd and container runtimes send to stop a process: it may take its time.</summary>
    public void Terminate()
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("SIGTERM is a POSIX signal");
        if (SysKill(process.Id, 15) != 0)
            throw new InvalidOperationException($"SIGTERM to {Name} (pid {process.Id}) failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    static extern int SysKill(int pid, int signal);

    /// <summary>SIGKILL: no goodbye to the cluster, exactly like a crashed machine.</summary>
    public void Kill()
    {
        try { if (!process.HasExited) process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { /* exited meanwhile */ }
        process.WaitForExit(5000);
    }

    public string Tail(int lines = 40) => string.Join('\n', Output.Split('\n').TakeLast(lines));

    public void Dispose()
    {
        Kill();
        process.Dispose();
    }
}
