using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace TreePO.Hosting.Logging;

/// <summary>
/// Orleans' warnings that its scheduler is starved of CPU (the watchdog's "participant check thread has not
/// completed", the scheduler's long turns) for the embedded silo: on a laptop with two cores the model's compute
/// competes with Orleans' threads, and these come in bursts. They are shown, not hidden, but as one line at most
/// every <c>interval</c> on standard error, counting the ones folded into it and saying what they mean and what to
/// change. The watchdog's first check after start reports the time since the machine booted (it has no earlier
/// check to measure from): a duration longer than the process has lived is dropped as that artefact.
/// </summary>
public sealed partial class StarvationWarnings(TextWriter output, TimeSpan interval, TimeProvider? time = null) : ILoggerProvider
{
    /// <summary>The Orleans log categories of scheduler starvation.</summary>
    public static readonly string[] Categories = ["Orleans.Runtime.Watchdog", "Orleans.Runtime.Scheduler"];

    readonly TimeProvider clock = time ?? TimeProvider.System;
    readonly Lock gate = new();
    DateTimeOffset? lastShown;
    int folded;

    /// <summary>Routes the starvation categories to this provider (one line a minute on standard error by default)
    /// instead of the console logger's raw lines.</summary>
    public static ILoggingBuilder AddTo(ILoggingBuilder logging, TextWriter? output = null, TimeSpan? interval = null, TimeProvider? time = null)
    {
        foreach (string category in Categories) logging.AddFilter<ConsoleLoggerProvider>(category, LogLevel.None);
        return logging.AddProvider(new StarvationWarnings(output ?? Console.Error, interval ?? TimeSpan.FromMinutes(1), time));
    }

    public ILogger CreateLogger(string categoryName) =>
        Categories.Any(c => categoryName.StartsWith(c, StringComparison.Ordinal)) ? new Logger(this, categoryName) : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    void Write(string category, string message)
    {
        string first = message.Split('\n')[0].Trim();
        if (category.StartsWith(Categories[0], StringComparison.Ordinal) && OutlivesProcess(first)) return;
        lock (gate)
        {
            var now = clock.GetUtcNow();
            if (lastShown is { } last && now - last < interval)
            {
                folded++;
                return;
            }
            string more = folded > 0 && lastShown is { } previous ? $"; {folded} more since the last such line {(now - previous).TotalSeconds:F0} s ago" : "";
            output.WriteLine($"warn: the silo's scheduler is starved of CPU ({category}: {first}{more}). The model's compute competes with " +
                $"Orleans' threads on this machine's {Environment.ProcessorCount} core(s): grain calls answer late. Fewer torch threads " +
                $"(Engine:Threads, Trainer:TorchThreads) or more cores help. Shown at most once every {interval.TotalSeconds:F0} s.");
            lastShown = now;
            folded = 0;
        }
    }

    /// <summary>The watchdog names how long its check thread has not run; longer than this process has lived is the
    /// first check's artefact, not starvation.</summary>
    static bool OutlivesProcess(string message)
    {
        var m = Duration().Match(message);
        if (!m.Success || !TimeSpan.TryParse(m.Groups[1].Value, CultureInfo.InvariantCulture, out var reported)) return false;
        using var self = Process.GetCurrentProcess();
        return reported > DateTime.Now - self.StartTime + TimeSpan.FromSeconds(1);
    }

    [GeneratedRegex(@"for (\d+(?:\.\d+)?:\d\d:\d\d(?:\.\d+)?)")]
    private static partial Regex Duration();

    public void Dispose() { }

    sealed class Logger(StarvationWarnings owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) owner.Write(category, formatter(state, exception));
        }
    }
}
