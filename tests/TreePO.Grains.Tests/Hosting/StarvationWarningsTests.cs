using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TreePO.Hosting;
using TreePO.Hosting.Logging;

namespace TreePO.Grains.Tests.Hosting;

/// <summary>The embedded silo no longer hides Orleans' CPU-starvation warnings: they reach standard error, one line
/// at most every interval, counting the ones folded in; the watchdog's first-check artefact (a delay longer than the
/// process has lived) is dropped.</summary>
public sealed class StarvationWarningsTests
{
    const string LongTurn = "Task [Id=1] in WorkGroup [Activation: run/x] took elapsed time 0:00:01.5 for execution, which is longer than 00:00:01.";

    sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 12, 4, 0, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => Now;
    }

    static (ILoggerFactory Factory, StringWriter Output, ManualTime Time, ServiceProvider Services) EmbeddedLogging(LogLevel level = LogLevel.Warning)
    {
        var output = new StringWriter();
        var time = new ManualTime();
        var services = new ServiceCollection().AddLogging(b =>
        {
            EmbeddedSilo.ConfigureLogging(b, level, TextWriter.Null);
            // The embedded silo's own provider, with a writer and a clock the test reads and moves.
            b.AddProvider(new StarvationWarnings(output, TimeSpan.FromMinutes(1), time));
        }).BuildServiceProvider();
        return (services.GetRequiredService<ILoggerFactory>(), output, time, services);
    }

    static string[] Lines(StringWriter w) => w.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void The_embedded_silo_shows_starvation_warnings_once_a_minute_with_what_was_folded_in()
    {
        var (factory, output, time, services) = EmbeddedLogging();
        using var _ = services;
        var scheduler = factory.CreateLogger("Orleans.Runtime.Scheduler.WorkItemGroup");
        scheduler.LogWarning(LongTurn);
        scheduler.LogWarning(LongTurn);
        factory.CreateLogger("Orleans.Runtime.Watchdog").LogWarning("Participant check thread has not completed for 00:00:00.0000010, potentially indicating CPU starvation.");
        var first = Assert.Single(Lines(output));
        Assert.Contains("starved of CPU", first);
        Assert.Contains("took elapsed time 0:00:01.5", first);
        Assert.Contains("Engine:Threads", first);

        time.Now += TimeSpan.FromSeconds(61);
        scheduler.LogWarning(LongTurn);
        Assert.Equal(2, Lines(output).Length);
        Assert.Contains("2 more since the last such line 61 s ago", Lines(output)[1]);

        factory.CreateLogger("TreePO.Grains.Training.RunGrain").LogWarning("not starvation");
        Assert.Equal(2, Lines(output).Length);
    }

    [Fact]
    public void The_watchdogs_first_check_reporting_the_machines_uptime_is_dropped_a_real_delay_is_shown()
    {
        var (factory, output, _, services) = EmbeddedLogging();
        using var _s = services;
        var watchdog = factory.CreateLogger("Orleans.Runtime.Watchdog");
        watchdog.LogWarning("Participant check thread has not completed for 400.08:09:45.9693216, potentially indicating lock contention or deadlock, CPU starvation, or another execution anomaly.");
        Assert.Empty(Lines(output));
        watchdog.LogWarning("Participant check thread has not completed for 00:00:00.0000020, potentially indicating lock contention or deadlock, CPU starvation, or another execution anomaly.");
        Assert.Contains("has not completed for 00:00:00.0000020", Assert.Single(Lines(output)));
    }

    [Fact]
    public void An_embedded_silo_asked_for_errors_only_shows_none()
    {
        var (factory, output, _, services) = EmbeddedLogging(LogLevel.Error);
        using var _s = services;
        factory.CreateLogger("Orleans.Runtime.Scheduler").LogWarning(LongTurn);
        Assert.Empty(Lines(output));
    }
}
