using TreePO.Core.Training;
using TreePO.Hosting.Training;
using TreePO.Hosting.Processes;
using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;
using Spectre.Console.Cli;
using TreePO.Client.Training;
using TreePO.Core.Protocol;
using TreePO.Core.Trees;
using TreePO.Grains.Training;
using TreePO.Hosting;
using TreePO.Hosting.Options;

namespace TreePO.Client.Commands;

/// <summary>
/// `treepo train`: TreePO (or `--algo grpo`) on the built-in model and task in an embedded silo, with live progress,
/// a before/after table, and the run folder runs/NAME/ (metrics.jsonl, TensorBoard, curves.png, summary.json,
/// checkpoints, and the trained trees under trees/ with --save-trees). `--resume runs/NAME` continues from the latest
/// checkpoint with the saved spec.
/// </summary>
public sealed class TrainCommand : AsyncCommand<TrainCommand.Settings>
{
    public const string SpecFile = "run_spec.json";

    public sealed class Settings : DatasetSettings
    {
        [CommandOption("--model <DIR>"), Description("Base model folder (HF layout with tokenizer) or a built-in model's name (builtin, builtin-deep). Default: Model:Path, else builtin (builtin-deep at --level 5).")] public string? Model { get; init; }
        [CommandOption("--name <NAME>"), Description("Run name: the folder runs/NAME and the run grain's key.")] public string? Name { get; init; }
        [CommandOption("--runs <DIR>"), Description("Where run folders go (Run:RunsDir).")] public string? RunsDir { get; init; }
        [CommandOption("--resume <RUNDIR>"), Description("Continue runs/NAME from its latest checkpoint.")] public string? Resume { get; init; }
        [CommandOption("--algo <ALGO>"), Description("Run:Algo, a preset of both choices below: treepo (tree sampling, tree advantage) or grpo (sequential sampling, group advantage).")]
        public string? Algo { get; init; }
        [CommandOption("--sampling <MODE>"), Description("Run:Sampling: tree or sequential (w independent samples). Default: the --algo preset's.")]
        public string? Sampling { get; init; }
        [CommandOption("--advantage <ESTIMATOR>"), Description("Advantage:Estimator: tree, tree_size_weighted, tree_subgroup_reject, group or segment (each stretch between forks credited against its fork). Default: the --algo preset's.")]
        public string? Advantage { get; init; }
        [CommandOption("--no-root"), Description("Advantage:NoRoot: the tree advantage without the root group's term.")] public bool NoRoot { get; init; }
        [CommandOption("--steps <N>"), Description("Run:Steps.")] public int? Steps { get; init; }
        [CommandOption("--queries <N>"), Description("Run:QueriesPerStep, queries per step after the filter.")] public int? Queries { get; init; }
        [CommandOption("--oversample <X>"), Description("Filter:Oversample: the first round samples X times --queries queries.")] public double? Oversample { get; init; }
        [CommandOption("--extra-rounds <N>"), Description("Filter:MaxExtraRounds, extra sampling rounds when the filter leaves the step short.")] public int? ExtraRounds { get; init; }
        [CommandOption("-w|--width <N>"), Description("Tree:Width.")] public int? Width { get; init; }
        [CommandOption("-d|--depth <N>"), Description("Tree:Depth.")] public int? Depth { get; init; }
        [CommandOption("-l|--segment <N>"), Description("Tree:SegmentLength.")] public int? Segment { get; init; }
        [CommandOption("-b|--branch <N>"), Description("Tree:Branch.")] public int? Branch { get; init; }
        [CommandOption("--temperature <T>"), Description("Rollout sampling temperature, Sampling:Temperature.")] public float? Temperature { get; init; }
        [CommandOption("--lr <LR>"), Description("Trainer:LearningRate.")] public double? LearningRate { get; init; }
        [CommandOption("--mini-batches <N>"), Description("Trainer:MiniBatches.")] public int? MiniBatches { get; init; }
        [CommandOption("--warmup <N>"), Description("Trainer:WarmupSteps, optimiser steps of linear warm-up.")] public int? Warmup { get; init; }
        [CommandOption("--packing <MODE>"), Description("Policy update layout, Trainer:Packing: on (tree-packed, default) or off (a padded row per trajectory).")]
        public string? Packing { get; init; }
        [CommandOption("--old-logprobs <SOURCE>"), Description("Old policy log-probs, Trainer:OldLogProbs: recompute (trainer forward, default) or engine (as sampled).")]
        public string? OldLogProbs { get; init; }
        [CommandOption("--eval-every <N>"), Description("Run:EvalEvery.")] public int? EvalEvery { get; init; }
        [CommandOption("--eval-queries <N>"), Description("Run:EvalQueries.")] public int? EvalQueries { get; init; }
        [CommandOption("-k|--samples <K>"), Description("Run:EvalK, samples per held-out query (the k of mean@k).")] public int? K { get; init; }
        [CommandOption("--eval-temperature <T>"), Description("Run:EvalTemperature.")] public float? EvalTemperature { get; init; }
        [CommandOption("--eval-max-tokens <N>"), Description("Run:EvalMaxTokens.")] public int? EvalMaxTokens { get; init; }
        [CommandOption("--checkpoint-every <N>"), Description("Run:CheckpointEvery.")] public int? CheckpointEvery { get; init; }
        [CommandOption("--seed <SEED>"), Description("Run seed, Seed.")] public ulong? Seed { get; init; }
        [CommandOption("--data <PATH>"), Description("Training set: a JSON-lines or Parquet file, or a folder of shards (--data-format, field maps); default: the built-in task.")]
        public string? Data { get; init; }
        [CommandOption("--eval-data <PATH>"), Description("Held-out set, read like --data; default: the built-in task's test split.")] public string? EvalData { get; init; }
        [CommandOption("--level <N>"), Description("Run:TaskLevel, built-in task difficulty 1-5.")] public int? Level { get; init; }
        [CommandOption("--system-prompt <TEXT>"), Description("System turn of the chat format (Prompt:SystemPrompt); empty: none.")] public string? SystemPrompt { get; init; }
        [CommandOption("--save-trees"), Description("Write each step's trained trees with their rewards and advantages to runs/NAME/trees/step-N.jsonl (Training:SaveTrees).")]
        public bool SaveTrees { get; init; }
        [CommandOption("--cluster"), Description("Join a running localhost cluster (Cluster:GatewayPort) instead of starting an embedded silo; its silos must serve the same model.")]
        public bool Cluster { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        RunSpec spec;
        TreePOOptions options;
        try
        {
            // The options tree as `treepo rollout` reads it (--section.key=value included), under this command's flags.
            // At the deep level (5) of the built-in task: its own built-in model, segments and budget (CommandOptions).
            options = CommandOptions.ForTrain(s.Level, dataset: s.Data is not null);
            if (s.SystemPrompt is not null) options.Prompt.SystemPrompt = s.SystemPrompt;
            s.ApplyChatFormat(options);
            spec = s.Resume is not null ? ResumeSpec(s) : NewSpec(s, options);
            if (s.SaveTrees || options.Training.SaveTrees) spec = spec with { SaveTrees = true };   // on --resume too
            options.Model.Path = spec.ModelDir;   // the silo serves exactly the run's model
        }
        catch (Exception e) when (e is ArgumentException or IOException or JsonException or TreePO.Hosting.Models.ModelFolderException or TreePOOptionsException)
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]");
            return 2;
        }
        var errors = RunSpecCheck.Validate(spec, ModelContext(spec.ModelDir));
        if (errors.Count > 0)
        {
            AnsiConsole.MarkupLine("[red]the run cannot start:[/]");
            foreach (string e in errors) AnsiConsole.MarkupLine($"  [red]{Markup.Escape(e)}[/]");
            return 2;
        }
        Directory.CreateDirectory(spec.RunDir);
        if (s.Resume is null) File.WriteAllText(Path.Combine(spec.RunDir, SpecFile), JsonSerializer.Serialize(spec, new JsonSerializerOptions { WriteIndented = true }));

        string sampling = RunSpecCheck.TreeConfigOf(spec).Mode.ToString().ToLowerInvariant();
        AnsiConsole.MarkupLine($"run [bold]{Markup.Escape(spec.RunId)}[/] ({spec.Trainer.Algo}: {sampling} sampling, {spec.Trainer.ResolvedAdvantage} advantage{(spec.Trainer.NoRoot ? ", no root" : "")}) in {Markup.Escape(spec.RunDir)}; model {Markup.Escape(spec.ModelDir)}");
        // Ctrl+C / SIGTERM cancel the command, then the silo (or the client) stops within Cluster:ShutdownTimeout.
        using var guard = ShutdownGuard.Install(options.Cluster.ShutdownTimeout);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, guard.Stopping);
        cancellationToken = stop.Token;
        if (await CommandCluster.ConnectAsync(options, s.Cluster, cancellationToken) is not { } connection) return 3;
        await using var _ = connection;
        var run = connection.Client.GetGrain<IRunGrain>(spec.RunId);
        RunStatus status;
        try { status = await run.StartAsync(spec, resume: s.Resume is not null); }
        catch (Exception e)
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]");
            return 2;
        }
        AnsiConsole.MarkupLine(Markup.Escape($"run and trainer on silo {status.Silo}"));
        using var cancel = cancellationToken.Register(() => run.CancelAsync());
        var supervisor = new RunSupervisor(run, spec, line => AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(line)}[/]"));
        status = await TrainProgress.FollowAsync(supervisor, status);
        foreach (string w in status.Warnings) AnsiConsole.MarkupLine($"[yellow]skipped: {Markup.Escape(w)}[/]");
        if (status.Phase != RunPhase.Finished)
        {
            AnsiConsole.MarkupLine($"[red]run {status.Phase.ToString().ToLowerInvariant()} at step {status.Step}: {Markup.Escape(status.Error ?? "")}[/]");
            return 1;
        }
        string? curves = null;
        if (File.Exists(Path.Combine(spec.RunDir, "metrics.jsonl"))) curves = RunReport.WriteCurves(spec.RunDir);
        TrainProgress.FinalTable(spec, status, curves);
        return 0;
    }

    static RunSpec NewSpec(Settings s, TreePOOptions options)
    {
        Apply(s, options);
        string algo = options.Run.Algo.ToLowerInvariant();
        string name = s.Name ?? $"{algo}-{DateTime.Now:yyyyMMdd-HHmmss}";
        string runDir = Path.GetFullPath(Path.Combine(options.Run.RunsDir, name));
        if (File.Exists(Path.Combine(runDir, "metrics.jsonl")))
            throw new ArgumentException($"{runDir} already holds a run: pick another --name, or continue it with --resume {runDir}");
        // --model, else Model:Path (appsettings, TREEPO__MODEL__PATH, --model.path=); empty: the built-in model, found
        // from any folder of the repository (as `rollout` does).
        string model = TreePO.Hosting.Models.ModelFolder.Resolve(s.Model ?? options.Model.Path);
        return TrainSpec.Build(options, name, runDir, model, Full(s.Data), Full(s.EvalData)) with
        {
            DataFormat = s.DataFormat?.ToLowerInvariant(),
            QuestionField = s.QuestionField,
            AnswerField = s.AnswerField,
            IdField = s.IdField,
        };
    }

    /// <summary>The command's flags over the options tree: a flag wins over its key.</summary>
    internal static void Apply(Settings s, TreePOOptions o)
    {
        var r = o.Run;
        if (s.RunsDir is { } runs) r.RunsDir = runs;
        if (s.Algo is { } algo) r.Algo = algo;
        if (s.Sampling is { } sampling) r.Sampling = sampling;
        if (s.Advantage is { } advantage) o.Advantage.Estimator = advantage;
        if (s.NoRoot) o.Advantage.NoRoot = true;
        if (s.Steps is { } steps) r.Steps = steps;
        if (s.Queries is { } queries) r.QueriesPerStep = queries;
        if (s.Oversample is { } oversample) o.Filter.Oversample = oversample;
        if (s.ExtraRounds is { } rounds) o.Filter.MaxExtraRounds = rounds;
        var t = o.Tree;
        if (s.Width is { } w) t.Width = w;
        if (s.Depth is { } d) t.Depth = d;
        if (s.Segment is { } l) t.SegmentLength = l;
        if (s.Branch is { } b) t.Branch = b;
        if (s.Temperature is { } temperature) o.Sampling.Temperature = temperature;
        var tr = o.Trainer;
        if (s.LearningRate is { } lr) tr.LearningRate = lr;
        if (s.MiniBatches is { } mb) tr.MiniBatches = mb;
        if (s.Warmup is { } warmup) tr.WarmupSteps = warmup;
        tr.Packing = Choice(s.Packing, "--packing", tr.Packing);
        tr.OldLogProbs = Choice(s.OldLogProbs, "--old-logprobs", tr.OldLogProbs);
        if (s.EvalEvery is { } ee) r.EvalEvery = ee;
        if (s.EvalQueries is { } eq) r.EvalQueries = eq;
        if (s.K is { } k) r.EvalK = k;
        if (s.EvalTemperature is { } et) r.EvalTemperature = et;
        if (s.EvalMaxTokens is { } em) r.EvalMaxTokens = em;
        if (s.CheckpointEvery is { } ce) r.CheckpointEvery = ce;
        if (s.Level is { } level) r.TaskLevel = level;
        if (s.Seed is { } seed) o.Seed = seed;
    }

    static RunSpec ResumeSpec(Settings s)
    {
        string path = Path.Combine(s.Resume!, SpecFile);
        if (!File.Exists(path)) throw new ArgumentException($"cannot resume: {path} does not exist (not a run folder of treepo train)");
        var spec = JsonSerializer.Deserialize<RunSpec>(File.ReadAllText(path)) ?? throw new ArgumentException($"{path}: empty");
        if (RunState.Latest(spec.RunDir, w => AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(w)}[/]")) is null)
            throw new ArgumentException($"cannot resume: {spec.RunDir} has no complete checkpoint yet");
        return s.Steps is { } steps ? spec with { Steps = steps } : spec;
    }

    /// <summary>The flag's value if given (checked against the enum's names), else the options tree's.</summary>
    static TEnum Choice<TEnum>(string? flag, string name, TEnum fromOptions) where TEnum : struct, Enum
    {
        if (flag is null) return fromOptions;
        return Enum.TryParse<TEnum>(flag, ignoreCase: true, out var known) && Enum.IsDefined(known) && !int.TryParse(flag, out _) ? known
            : throw new ArgumentException($"{name} must be one of {string.Join(", ", Enum.GetNames<TEnum>().Select(n => n.ToLowerInvariant()))}, got '{flag}'");
    }

    static string? Full(string? path) => path is null ? null : Path.GetFullPath(path);

    static int ModelContext(string modelDir)
    {
        string config = Path.Combine(modelDir, "config.json");
        if (!File.Exists(config)) return 0;   // reported by the validation
        return JsonNode.Parse(File.ReadAllText(config))?["max_position_embeddings"]?.GetValue<int>() ?? 0;
    }
}
