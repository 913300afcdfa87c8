using System.Diagnostics;
using System.Text.Json.Nodes;
using Spectre.Console;
using TreePO.Grains.Training;

namespace TreePO.Client.Training;

/// <summary>Live progress of a run (polling the run grain) and the final before/after table.</summary>
public static class TrainProgress
{
    public static async Task<RunStatus> FollowAsync(RunSupervisor run, RunStatus status)
    {
        if (PlainOutput.IsPlain)
        {
            // Logs and CI: one whole line per step.
            int shown = -1;
            while (true)
            {
                if (status.Step != shown && status.LastMetrics is not null) { shown = status.Step; PlainOutput.Line(Line(status)); }
                if (status.Done) return status;
                await Task.Delay(500);
                status = await run.PollAsync(status);
            }
        }
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask(Line(status), maxValue: Math.Max(1, status.Steps));
                while (!status.Done)
                {
                    await Task.Delay(500);
                    status = await run.PollAsync(status);
                    task.Value = status.Step;
                    task.Description = Markup.Escape(Line(status));
                }
                task.Value = task.MaxValue;
            });
        return status;
    }

    internal static string Line(RunStatus s)
    {
        var m = s.LastMetrics is null ? null : JsonNode.Parse(s.LastMetrics)?.AsObject();
        string F(string key, string format) => m is not null && RunReport.Number(m, key) is { } v ? v.ToString(format) : "-";
        string eval = s.Evals.Length > 0 ? $" held-out {s.Evals[^1].MeanAtK:P1}" : "";
        return $"step {s.Step}/{s.Steps} {s.Phase.ToString().ToLowerInvariant()}: reward {F("reward_mean", "F3")} acc {F("accuracy", "P1")} " +
               $"len {F("response_length", "F1")} tok/s {F("tokens_per_s", "F0")} " +
               $"update {F("update_s", "F2")} s on {F("update_tokens", "F0")}/{F("unpacked_tokens", "F0")} tok{eval}";
    }

    public static void FinalTable(RunSpec spec, RunStatus status, string? curves)
    {
        var before = status.Evals.FirstOrDefault(e => e.Step == 0);
        var after = status.Evals.LastOrDefault();
        var table = new Table().Title($"held-out ({after?.Queries ?? 0} queries, k = {spec.EvalK})").AddColumns("", "mean@k", "maj@k", "pass@k");
        if (before is not null) table.AddRow("before", $"{before.MeanAtK:P1}", $"{before.MajAtK:P1}", $"{before.PassAtK:P1}");
        if (after is not null) table.AddRow($"after step {after.Step}", $"{after.MeanAtK:P1}", $"{after.MajAtK:P1}", $"{after.PassAtK:P1}");
        if (before is not null && after is not null)
            table.AddRow("change", $"{(after.MeanAtK - before.MeanAtK) * 100:+0.0;-0.0} pts", $"{(after.MajAtK - before.MajAtK) * 100:+0.0;-0.0} pts",
                $"{(after.PassAtK - before.PassAtK) * 100:+0.0;-0.0} pts");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"{status.Step} steps in {status.WallSeconds:F0} s; run folder {Markup.Escape(spec.RunDir)}" +
            (curves is null ? "" : $"; curves {Markup.Escape(curves)}"));
        if (status.SkippedRows + status.SkippedPrompts > 0)
            AnsiConsole.MarkupLine($"[yellow]skipped {status.SkippedRows} dataset row(s) and {status.SkippedPrompts} prompt(s) too long for the model[/]");
    }
}
