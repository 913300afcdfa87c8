using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Serialization;
using Spectre.Console;
using Spectre.Console.Cli;
using TreePO.Grains.Training;
using TreePO.Hosting.Options;
using TreePO.Hosting.Training;

namespace TreePO.Client.Commands;

/// <summary>
/// `treepo status NAME`: where a training run stands on a running cluster (the options tree names it, as for `train
/// --cluster`), asked of its run grain: phase, step, silo, the checkpoint it resumed from, the latest held-out figures,
/// and on redis and postgres clusters what the run storage holds (whether its reminder will resume it, and from which
/// checkpoint). For a run whose client is gone: it may have been resumed elsewhere by its reminder.
/// </summary>
public sealed class StatusCommand : AsyncCommand<StatusCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<NAME>"), Description("The run's name (train --name; the runs/NAME folder).")] public string Name { get; init; } = "";
        [CommandOption("--follow"), Description("Ask again every --every seconds until the run is finished, failed or cancelled.")] public bool Follow { get; init; }
        [CommandOption("--every <SECONDS>"), Description("Seconds between two questions with --follow (default 2).")] public double Every { get; init; } = 2;
        [CommandOption("--json"), Description("The run grain's status as one JSON object a line, for scripts.")] public bool Json { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Name) ? ValidationResult.Error("NAME must not be empty")
            : !(Every > 0) ? ValidationResult.Error($"--every must be more than 0 seconds, got {Every}")
            : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        TreePOOptions options;
        try { options = CommandOptions.ForTrain(); }
        catch (TreePOOptionsException e)
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]");
            return 2;
        }
        if (await CommandCluster.ConnectAsync(options, join: true, cancellationToken, announce: !s.Json) is not { } connection) return 3;
        await using var _ = connection;
        var run = connection.Client.GetGrain<IRunGrain>(s.Name);
        string? last = null;
        while (true)
        {
            RunStatus status;
            try { status = await run.GetStatusAsync(); }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                AnsiConsole.MarkupLine($"[red]asking run {Markup.Escape(s.Name)}: {Markup.Escape(e.Message)}[/]");
                return 3;
            }
            bool known = status.Phase != RunPhase.Created || status.Record is not null;
            if (!known)
            {
                AnsiConsole.MarkupLine($"[red]no run named {Markup.Escape(s.Name)} runs on this cluster or is recorded in its run storage[/]");
                return 2;
            }
            string text = s.Json ? JsonSerializer.Serialize(status, JsonLines) : Describe(status);
            if (text != last) Console.WriteLine(text);
            last = text;
            if (!s.Follow || status.Done || (status.Phase == RunPhase.Created && status.Record is { Active: false })) return 0;
            try { await Task.Delay(TimeSpan.FromSeconds(s.Every), cancellationToken); }
            catch (OperationCanceledException) { return 0; }
        }
    }

    static readonly JsonSerializerOptions JsonLines = new()
    {
        Converters = { new JsonStringEnumConverter() },
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,   // the metrics line's quotes as \"
    };

    /// <summary>A few plain lines: where the run is, its latest held-out figures, what the run storage holds.</summary>
    public static string Describe(RunStatus s)
    {
        var lines = new List<string>();
        if (s.Phase == RunPhase.Created)
            lines.Add($"run {s.RunId}: not running on any silo now");
        else
        {
            string resumed = s.ResumedFromStep >= 0 ? $", resumed from the checkpoint of step {s.ResumedFromStep}" : "";
            lines.Add($"run {s.RunId}: {s.Phase.ToString().ToLowerInvariant()}, step {s.Step} of {s.Steps} (policy version {s.PolicyVersion}) " +
                $"on silo {s.Silo}{resumed}, {s.WallSeconds:F1} s");
            if (s.Evals.Length > 0 && s.Evals[^1] is var e)
                lines.Add($"held-out at step {e.Step}: mean@{e.K} {e.MeanAtK:P1}, maj@{e.K} {e.MajAtK:P1}, pass@{e.K} {e.PassAtK:P1} ({e.Queries} queries)");
            if (s.SkippedRows + s.SkippedPrompts > 0) lines.Add($"skipped: {s.SkippedRows} rows, {s.SkippedPrompts} prompts");
            if (s.Error is { Length: > 0 } error) lines.Add($"error: {error}");
        }
        if (s.Record is { } r)
        {
            string checkpoint = r.CheckpointedStep > 0 ? $"the checkpoint of step {r.CheckpointedStep}" : "the start (no checkpoint yet)";
            string state = r.Active
                ? s.Phase == RunPhase.Created || s.Phase == RunPhase.Drained
                    ? $"active: its reminder resumes it from {checkpoint} within Run:RecoveryPeriod"
                    : $"active (a silo that takes it over resumes from {checkpoint})"
                : "not active (finished, failed or cancelled)";
            lines.Add($"run storage: {state}; {r.Steps} steps; resumed {r.Recoveries} time{(r.Recoveries == 1 ? "" : "s")} by its reminder");
        }
        return string.Join(Environment.NewLine, lines);
    }
}
