using TreePO.Hosting.Training;
using TreePO.Hosting.Processes;
using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using TreePO.Core.Trees;
using TreePO.Hosting;
using TreePO.Hosting.Models;
using TreePO.Hosting.Options;
using TreePO.Hosting.Rollout;

namespace TreePO.Client.Commands;

/// <summary>
/// `treepo rollout`: a batch of query trees through the cluster (an embedded silo, or a running cluster with
/// --cluster), with live progress, a summary table, and trees.jsonl + summary.json in --out. The work is
/// <see cref="RolloutRunner"/>'s; this class reads the command line and draws.
/// </summary>
public sealed class RolloutCommand : AsyncCommand<RolloutCommand.Settings>
{
    public sealed class Settings : DatasetSettings
    {
        [CommandOption("--model <DIR>")]
        [Description("Model folder (config.json, model.safetensors, tokenizer.json). Default: Model:Path, else models/builtin.")]
        public string? Model { get; init; }

        [CommandOption("--data <PATH>")]
        [Description("Questions: a JSON-lines or Parquet file, or a folder of shards (--data-format, field maps). Default: the built-in arithmetic task's held-out split.")]
        public string? Data { get; init; }

        [CommandOption("--queries <N>")]
        [Description("Queries to run: of the built-in task (default 16), or the first N rows of --data (default all).")]
        public int? Queries { get; init; }

        [CommandOption("--mode <MODE>")]
        [Description("tree (segment trees) or sequential (w independent samples); default: Tree:Mode.")]
        public string? Mode { get; init; }

        [CommandOption("--algo <ALGO>")]
        [Description("Advantage estimator written into trees.jsonl, as train --algo: treepo (tree advantage, whitened over the batch) or grpo (group advantage); default: treepo for tree mode, grpo for sequential.")]
        public string? Algo { get; init; }

        [CommandOption("--cluster")]
        [Description("Join a running localhost cluster instead of starting an embedded silo.")]
        public bool Cluster { get; init; }

        [CommandOption("--gateway <PORT>")]
        [Description("Gateway port of a silo of that cluster (default: Cluster:GatewayPort, 30000).")]
        public int? Gateway { get; init; }

        [CommandOption("--out <DIR>")]
        [Description("Output folder for trees.jsonl and summary.json (default: runs/rollout).")]
        [DefaultValue("runs/rollout")]
        public string Out { get; init; } = "runs/rollout";

        [CommandOption("--seed <N>")]
        [Description("Run seed (default: Seed, 1).")]
        public ulong? Seed { get; init; }

        [CommandOption("--batch <ID>")]
        [Description("Batch id: the first part of every tree id (default: rollout).")]
        [DefaultValue("rollout")]
        public string Batch { get; init; } = "rollout";

        [CommandOption("--concurrency <N>")]
        [Description("Trees in flight at once (default: 64).")]
        [DefaultValue(64)]
        public int Concurrency { get; init; } = 64;

        public override ValidationResult Validate() =>
            base.Validate() is { Successful: false } invalid ? invalid
            : Mode is not null && !Enum.TryParse<SamplingMode>(Mode, ignoreCase: true, out _) ? ValidationResult.Error($"--mode: '{Mode}' is not tree or sequential")
            : Algo is not null && Algo.ToLowerInvariant() is not ("treepo" or "grpo") ? ValidationResult.Error($"--algo: '{Algo}' is not treepo or grpo")
            : Queries is < 1 ? ValidationResult.Error($"--queries must be at least 1, got {Queries}")
            : Gateway is not null and not (> 0 and < 65536) ? ValidationResult.Error($"--gateway: {Gateway} is not a TCP port")
            : Concurrency < 1 ? ValidationResult.Error($"--concurrency must be at least 1, got {Concurrency}")
            : DataExists(Data) is { } missing ? ValidationResult.Error(missing)
            : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        TreePOOptions options;
        ModelText text;
        try
        {
            options = TreePOConfiguration.Load([.. OptionOverrides.Captured]);
            if (settings.Model is not null) options.Model.Path = settings.Model;
            if (settings.Mode is not null) options.Tree.Mode = Enum.Parse<SamplingMode>(settings.Mode, ignoreCase: true);
            if (settings.Gateway is { } port) options.Cluster.GatewayPort = port;
            if (settings.Seed is { } seed) options.Seed = seed;
            settings.ApplyChatFormat(options);
            text = ModelText.Load(ModelFolder.Resolve(options.Model.Path), options);
        }
        catch (Exception e) when (e is TreePOOptionsException or ModelFolderException or InvalidDataException or FileNotFoundException)
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]");
            return 2;
        }
        options.Model.Path = text.Folder;   // the silo loads exactly the folder the prompts were made with

        RolloutInput input;
        try
        {
            input = settings.Data is null
                ? RolloutInput.BuiltIn(options.Seed, settings.Queries ?? 16)
                : RolloutInput.FromDataset(settings.Data, settings.Fields(), settings.Queries ?? 0);
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException)
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]");
            return 2;
        }
        foreach (string s in input.Skipped) AnsiConsole.MarkupLine($"[yellow]skipped {Markup.Escape(s)}[/]");
        var config = options.TreeConfig();
        AnsiConsole.MarkupLine(Markup.Escape(
            $"model {text.Folder}; {input.Items.Count} queries from {input.Source}; {config.Mode.ToString().ToLowerInvariant()} " +
            $"w={config.Width} d={config.Depth} l={config.SegmentLength} b={config.Branch}"));

        // Ctrl+C / SIGTERM cancel the command, then the silo (or the client) stops within Cluster:ShutdownTimeout.
        using var guard = ShutdownGuard.Install(options.Cluster.ShutdownTimeout);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, guard.Stopping);
        cancellationToken = stop.Token;
        if (await CommandCluster.ConnectAsync(options, settings.Cluster, cancellationToken) is not { } connection) return 3;
        await using var _ = connection;

        var runner = new RolloutRunner(connection.Client, text, options)
        {
            BatchId = settings.Batch,
            Concurrency = settings.Concurrency,
            ClusterDescription = connection.Description,
            Algo = settings.Algo,
        };
        RolloutResult result = null!;
        static string Describe(RolloutProgress p) => $"trees {p.TreesDone}/{p.TreesTotal}" + (p.TreesFailed > 0 ? $" ({p.TreesFailed} failed)" : "") +
            $"  trajectories {p.Trajectories}  {p.TokensPerSecond:F0} tokens/s";
        if (PlainOutput.IsPlain)
            result = await runner.RunAsync(input, settings.Out, p =>
            {
                if (PlainOutput.Due(p.TreesDone + p.TreesFailed, p.TreesTotal)) PlainOutput.Line($"{Describe(p)}  {p.Elapsed.TotalSeconds:F1} s");
            }, cancellationToken);
        else
            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .StartAsync(async ctx =>
                {
                    var task = ctx.AddTask("starting the trees", maxValue: Math.Max(1, input.Items.Count));
                    result = await runner.RunAsync(input, settings.Out, p =>
                    {
                        task.Value = p.TreesDone + p.TreesFailed;
                        task.Description = Describe(p);
                    }, cancellationToken);
                    task.Value = task.MaxValue;
                });

        var summary = result.Summary;
        foreach (string reason in summary.SkippedReasons.Skip(input.Skipped.Count))
            AnsiConsole.MarkupLine($"[yellow]skipped {Markup.Escape(reason)}[/]");
        AnsiConsole.Write(SummaryTable(summary));
        AnsiConsole.MarkupLine(Markup.Escape($"wrote {result.TreesPath} ({summary.Trees} trees) and {result.SummaryPath}"));
        return summary.Trees > 0 ? 0 : 1;
    }

    static Table SummaryTable(RolloutSummary s)
    {
        var t = new Table().AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
        void Row(string name, string value) => t.AddRow(Markup.Escape(name), Markup.Escape(value));
        Row("trees (skipped)", $"{s.Trees} ({s.Skipped})");
        Row("trajectories", $"{s.Trajectories}");
        Row("trajectories/s", $"{s.TrajectoriesPerSecond:F2}");
        Row("wall time", $"{s.WallSeconds:F1} s");
        Row("generated tokens (all trajectories)", $"{s.GeneratedTokens:N0}");
        Row("decoded tokens (tree nodes), per s", $"{s.DecodedTokens:N0}, {s.DecodedTokensPerSecond:F0}");
        Row("computed tokens (prefill + decode)", $"{s.ComputedTokens:N0}");
        Row("reused context tokens (KV)", $"{s.ReusedTokens:N0}");
        Row("recomputed context tokens (computed before, no longer held)", $"{s.RecomputedContextTokens:N0}");
        Row("token savings (1 - decoded/generated)", $"{s.TokenSavings:P1}");
        Row("accuracy (trajectories)", $"{s.Accuracy:P1} ({s.Correct}/{s.Trajectories})");
        Row("advantages in trees.jsonl", s.Algo == "grpo" ? "grpo (group advantage)" : "treepo (tree advantage, batch-whitened)");
        Row($"mean@{s.K} / maj@{s.K} / pass@{s.K}", $"{s.MeanAtK:F3} / {s.MajAtK:F3} / {s.PassAtK:F3}");
        Row("fallback ratio (trees, trajectories)", $"{s.FallbackTreeRatio:P1}, {s.FallbackTrajectoryRatio:P1}");
        Row("failovers, recomputed tokens, tree restarts", $"{s.Failovers}, {s.RecomputedTokens:N0}, {s.TreeRestarts}");
        Row("resumed trees: segments resumed, recomputed (started over)", $"{s.ResumedTrees}: {s.ResumedSegments}, {s.RecomputedSegments} ({s.TreesStartedOver})");
        foreach (var e in s.Engines)
            Row($"engine {e.Engine}", $"{e.Requests} requests, mean batch {e.MeanBatchSize:F1}, max {e.MaxBatchSize}");
        return t;
    }
}
