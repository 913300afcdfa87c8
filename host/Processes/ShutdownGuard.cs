using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace TreePO.Hosting.Processes;

/// <summary>
/// Bounds the time a process that runs a silo (or a cluster client) takes to exit after SIGTERM, SIGINT (Ctrl+C) or
/// SIGQUIT. The generic host's console lifetime turns the first signal into a graceful stop, then waits for it as long
/// as it takes and ignores further signals; an Orleans silo whose membership store is gone retries it for minutes
/// while stopping. Here the first signal starts a clock over <c>Cluster:ShutdownTimeout</c>: the graceful stop has
/// two thirds of it (<see cref="Graceful"/> is cancelled then, and Orleans stops the silo ungracefully), the
/// ungraceful stop and the host's disposal the rest; at the limit the process exits with
/// <see cref="TimedOutExitCode"/> and a line naming the step that overran. A second signal exits at once, with
/// 128 + the signal's number. The guard's lines go straight to stderr, prefixed "shutdown:", because the process may
/// exit before a logger's queue is written. Signals are per process, so there is one guard at a time.
/// </summary>
public sealed class ShutdownGuard : IDisposable
{
    /// <summary>The exit code of a process whose stop overran a step: the graceful one (the process then stopped
    /// ungracefully) or the whole limit (the process was ended).</summary>
    public const int TimedOutExitCode = 4;

    static ShutdownGuard? current;

    readonly TimeSpan limit;
    readonly List<PosixSignalRegistration> signals = [];
    readonly CancellationTokenSource stopping = new(), graceful = new();
    readonly ManualResetEventSlim finished = new();
    readonly TaskCompletionSource signalled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly Stopwatch clock = new();
    int signalCount, begun;
    volatile string step = "graceful stop";

    ShutdownGuard(TimeSpan limit)
    {
        this.limit = limit;
        foreach (var s in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGQUIT })
            signals.Add(PosixSignalRegistration.Create(s, OnSignal));
    }

    /// <summary>The guard of this process, if one is installed.</summary>
    public static ShutdownGuard? Current => Volatile.Read(ref current);

    /// <summary>True once a stop of this process overran its graceful share: its exit code is then
    /// <see cref="TimedOutExitCode"/> (kept after the guard is disposed, for the process's last word).</summary>
    public static bool TimedOut { get; private set; }

    /// <summary>The limit's share the graceful stop has.</summary>
    public static TimeSpan GracefulShare(TimeSpan limit) => limit * 2 / 3;

    /// <summary>Starts handling SIGINT, SIGTERM and SIGQUIT for this process.</summary>
    public static ShutdownGuard Install(TimeSpan limit)
    {
        var guard = new ShutdownGuard(limit);
        if (Interlocked.CompareExchange(ref current, guard, null) is not null)
        {
            guard.Unregister();
            throw new InvalidOperationException("a ShutdownGuard is already installed in this process");
        }
        return guard;
    }

    /// <summary>Cancelled at the first signal: what the process runs stops.</summary>
    public CancellationToken Stopping => stopping.Token;

    /// <summary>Cancelled when the graceful stop has used its share of the limit: pass it to the host's StopAsync.</summary>
    public CancellationToken Graceful => graceful.Token;

    /// <summary>Whether a stop has begun (a signal, or <see cref="Begin"/>).</summary>
    public bool HasBegun => Volatile.Read(ref begun) != 0;

    /// <summary>Names the step the stop is in, for the line printed when it overruns (say "disposal").</summary>
    public void Step(string name) => step = name;

    /// <summary>Starts the clock when a stop comes from inside the process (the host stopping by itself); a no-op
    /// once a stop has begun.</summary>
    public void Begin(string why)
    {
        if (Interlocked.Exchange(ref begun, 1) != 0) return;
        clock.Start();
        Print($"{why}: stopping; graceful stop up to {Seconds(GracefulShare(limit))}, exit within {Seconds(limit)} " +
              "(Cluster:ShutdownTimeout); Ctrl+C or SIGTERM again exits at once");
        // A thread of its own, not a timer: a starved thread pool must not hold the deadline.
        new Thread(Watch) { IsBackground = true, Name = "shutdown deadline" }.Start();
        ThreadPool.QueueUserWorkItem(_ => stopping.Cancel());
    }

    /// <summary>Starts <paramref name="host"/>, waits for a signal (or the host stopping by itself), stops it within
    /// the limit and disposes it. Returns the process's exit code: 0, or <see cref="TimedOutExitCode"/> when the
    /// graceful stop overran. A start that fails throws, as before.</summary>
    public async Task<int> RunAsync(IHost host)
    {
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        var stopRequested = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (Stopping.Register(lifetime.StopApplication))
        using (lifetime.ApplicationStopping.Register(() => stopRequested.TrySetResult()))
        {
            try { await host.StartAsync(Stopping); }
            catch (OperationCanceledException) when (Stopping.IsCancellationRequested) { Step("start, cancelled, then its stop"); }
            await stopRequested.Task;
        }
        // The console lifetime handles the same signal and may have stopped the host before this guard's handler ran:
        // give that handler a moment, so that the clock starts (and the line names the signal) there.
        if (!HasBegun) await Task.WhenAny(signalled.Task, Task.Delay(2000));
        Begin("stop requested inside the process");
        try { await host.StopAsync(Graceful); }
        catch (Exception e) { Print($"the {step} failed: {e.GetBaseException().Message}"); }
        Step("disposal");
        if (host is IAsyncDisposable async) await async.DisposeAsync();
        else host.Dispose();
        return Finish();
    }

    /// <summary>Marks the stop done (the deadline is off) and returns the exit code it earns.</summary>
    public int Finish()
    {
        if (HasBegun)
        {
            finished.Set();
            Print($"stopped in {clock.Elapsed.TotalSeconds:F1} s" + (TimedOut ? $", ungracefully; exit code {TimedOutExitCode}" : ""));
        }
        return TimedOut ? TimedOutExitCode : 0;
    }

    void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;   // the process ends here, not by the runtime's default action
        signalled.TrySetResult();
        if (Interlocked.Increment(ref signalCount) == 1)
        {
            Begin(Name(context.Signal));
            return;
        }
        int code = 128 + Number(context.Signal);
        Print($"{Name(context.Signal)} again during the {step}: exiting now with code {code}");
        Exit(code);
    }

    void Watch()
    {
        if (finished.Wait(GracefulShare(limit))) return;
        TimedOut = true;
        bool inGraceful = step == "graceful stop";
        Print($"the {step} did not finish within {Seconds(GracefulShare(limit))}" + (inGraceful ? "; stopping ungracefully" : ""));
        if (inGraceful) step = "ungraceful stop";
        graceful.Cancel();
        if (finished.Wait(limit - GracefulShare(limit))) return;
        Print($"the {step} did not finish within the {Seconds(limit)} limit (Cluster:ShutdownTimeout): exiting with code {TimedOutExitCode}");
        Exit(TimedOutExitCode);
    }

    static void Exit(int code)
    {
        // Environment.Exit runs the ProcessExit handlers; one that blocks would hold the process again, so _exit
        // ends it a little later regardless.
        if (!OperatingSystem.IsWindows())
            new Thread(() => { Thread.Sleep(2000); SysExit(code); }) { IsBackground = true }.Start();
        Environment.Exit(code);
    }

    [DllImport("libc", EntryPoint = "_exit")]
    static extern void SysExit(int status);

    static void Print(string line)
    {
        try { Console.Error.WriteLine($"shutdown: {line}"); }
        catch (IOException) { /* no stderr left: the exit matters more */ }
    }

    static string Seconds(TimeSpan t) => $"{t.TotalSeconds:0.#} s";

    static string Name(PosixSignal s) => s switch
    {
        PosixSignal.SIGINT => "SIGINT (Ctrl+C)",
        PosixSignal.SIGTERM => "SIGTERM",
        PosixSignal.SIGQUIT => "SIGQUIT",
        _ => s.ToString(),
    };

    static int Number(PosixSignal s) => s switch
    {
        PosixSignal.SIGINT => 2,
        PosixSignal.SIGQUIT => 3,
        PosixSignal.SIGTERM => 15,
        _ => 1,
    };

    void Unregister()
    {
        foreach (var r in signals) r.Dispose();
        signals.Clear();
    }

    /// <summary>Ends the guard when the command is over. Once a stop has begun the signals stay handled and the
    /// deadline stays armed until the process exits: whatever keeps it alive after Main (a foreground thread) is
    /// bounded too.</summary>
    public void Dispose()
    {
        if (HasBegun) return;
        Unregister();
        Interlocked.CompareExchange(ref current, null, this);
    }
}
