using TreePO.Core.Tasks;
using TreePO.Hosting.Training;
using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;
using Spectre.Console.Cli;
using TreePO.Core.Data;
using TreePO.Core.Eval;
using TreePO.Core.Trees;
using TreePO.Core.Protocol;
using TreePO.Core.Reward;
using TreePO.Engine;
using TreePO.Grains.Training;
using TreePO.Hosting.Engines;
using TreePO.Hosting.Models;
using TreePO.Hosting.Options;
using TreePO.Client.Training;


namespace TreePO.Client.Commands;

/// <summary>`treepo eval --model DIR`: k samples per held-out query (sequential sampling) scored as mean@k, maj@k and
/// the unbiased pass@k; a table on the terminal and the same figures as JSON.</summary>
public sealed class EvalCommand : AsyncCommand<EvalCommand.Settings>
{
    public sealed class Settings : DatasetSettings
    {
        // `treepo train`'s held-out defaults (the options tree's Run section).
        static readonly TreePO.Hosting.Options.RunOptions Defaults = new();

        [CommandOption("--model <DIR>"), Description("Model folder (HF layout with tokenizer), e.g. a checkpoint, or a built-in model's name (builtin, builtin-deep). Default: Model:Path, else builtin (builtin-deep at --level 5).")] public string? Model { get; init; }
        [CommandOption("--data <PATH>"), Description("Held-out set: a JSON-lines or Parquet file, or a folder of shards (--data-format, field maps); default: the built-in task's test split.")] public string? Data { get; init; }
        [CommandOption("--level <N>"), Description("Built-in task difficulty 1-5.")] public int Level { get; init; } = Defaults.TaskLevel;
        [CommandOption("--queries <N>"), Description("Held-out queries: of the built-in task, or the first N rows of --data (default Run:EvalQueries, 128).")] public int Queries { get; init; } = Defaults.EvalQueries;
        [CommandOption("-k|--samples <K>"), Description("Samples per query (the k of mean@k, maj@k, pass@k).")] public int K { get; init; } = Defaults.EvalK;
        [CommandOption("--temperature <T>"), Description("Sampling temperature (default Run:EvalTemperature, 1).")] public float Temperature { get; init; } = Defaults.EvalTemperature;
        [CommandOption("--max-tokens <N>"), Description("Response budget (default Run:EvalMaxTokens: 64, 256 at level 5).")] public int? MaxTokens { get; init; }
        [CommandOption("--seed <SEED>"), Description("Run seed: the built-in problems and every draw (default Seed, 1).")] public ulong Seed { get; init; } = new TreePO.Hosting.Options.TreePOOptions().Seed;
        [CommandOption("--system-prompt <TEXT>"), Description("System turn of the chat format (Prompt:SystemPrompt); empty: none.")] public string? SystemPrompt { get; init; }
        [CommandOption("--json <FILE>"), Description("Also write the results as JSON to this file ('stdout': standard output).")] public string? Json { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        if (s.K < 1) problems.Add($"-k (--samples) must be at least 1, got {s.K}");
        if (s.Queries < 1) problems.Add($"--queries must be at least 1, got {s.Queries}");
        if (s.MaxTokens < 1) problems.Add($"--max-tokens must be at least 1, got {s.MaxTokens}");
        int maxTokens = 0;   // --max-tokens, else the options' (which depend on the level)
        if (!(s.Temperature >= 0)) problems.Add($"--temperature must be 0 or more, got {s.Temperature}");
        if (DatasetSettings.DataExists(s.Data) is { } missing) problems.Add(missing);
        if (s.Data is null && s.Level is < 1 or > ArithmeticDifficulty.MaxLevel) problems.Add($"--level must be 1 to {ArithmeticDifficulty.MaxLevel}, got {s.Level}");
        // The options tree as `treepo rollout` reads it (--section.key=value: engine, prompt, sampling), under the flags.
        TreePOOptions options = new();
        string modelDir = "";
        try
        {
            // At the deep level (5) of the built-in task: its own built-in model and response budget (CommandOptions).
            options = CommandOptions.ForEval(s.Level, dataset: s.Data is not null);
            maxTokens = s.MaxTokens ?? options.Run.EvalMaxTokens;
            // --model, else Model:Path; empty: the built-in model, found from any folder of the repository.
            modelDir = ModelFolder.Resolve(s.Model ?? options.Model.Path);
        }
        catch (TreePOOptionsException e) { AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]"); return 2; }
        catch (ModelFolderException e) { problems.Add(e.Message); }
        if (problems.Count > 0)
        {
            foreach (string p in problems) AnsiConsole.MarkupLine($"[red]{Markup.Escape(p)}[/]");
            return 2;
        }
        ModelText text;
        try
        {
            options.Model.Path = modelDir;
            if (s.SystemPrompt is not null) options.Prompt.SystemPrompt = s.SystemPrompt;
            s.ApplyChatFormat(options);
            text = ModelText.Load(modelDir, options);
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException)
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]");
            return 2;
        }
        InferenceEngine loaded;
        try { loaded = InferenceEngine.Load(InferenceEngineBackendFactory.EngineOptionsFor(options, text)); }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            // A damaged weights file: the message names it and what is wrong.
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]");
            return 2;
        }
        await using var engine = loaded;
        int room = engine.MaxSequenceLength - maxTokens;
        if (room < 1)
        {
            AnsiConsole.MarkupLine($"[red]--max-tokens {maxTokens} leaves no room for a prompt in the model's {engine.MaxSequenceLength} tokens[/]");
            return 2;
        }
        List<QueryItem> queries;
        List<string> skipped;
        try
        {
            (queries, skipped, var notes) = await QuerySource.HeldOutAsync(s.Data is null ? null : Path.GetFullPath(s.Data), s.Fields(), s.Level, s.Seed,
                s.Queries, text, room, cancellationToken);
            foreach (string n in notes) AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(n)}[/]");
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException)
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]");
            return 2;
        }
        foreach (string w in skipped) AnsiConsole.MarkupLine($"[yellow]skipped: {Markup.Escape(w)}[/]");
        if (queries.Count == 0)
        {
            AnsiConsole.MarkupLine("[red]no held-out query to evaluate[/]");
            return 2;
        }
        var settings = new EvalSettings(s.K, maxTokens, new SamplingParams(s.Temperature, options.Sampling.TopP, options.Sampling.TopK));
        var evaluator = new Evaluator(engine, text.Decoder, text.StopIds, new MathReward(options.Reward.ToSettings(0)));
        EvalReport report = null!;
        string doing = $"sampling {s.K} answers for each of {queries.Count} queries...";
        if (PlainOutput.IsPlain)
        {
            PlainOutput.Line(doing);
            report = await evaluator.RunAsync(queries, settings, s.Seed, "eval", cancellationToken: cancellationToken);
        }
        else
            await AnsiConsole.Status().StartAsync(doing, async _ =>
                report = await evaluator.RunAsync(queries, settings, s.Seed, "eval", cancellationToken: cancellationToken));
        var sc = report.Scores;
        // The folder on a line of its own: a table's title is cut to the table's width, and paths are longer.
        AnsiConsole.MarkupLine($"{Markup.Escape(modelDir)}: {sc.Queries} queries, k = {sc.K}, temperature {s.Temperature}");
        var table = new Table()
            .AddColumns("mean@k", "maj@k", "pass@k", "tokens", "tokens/s");
        table.AddRow($"{sc.MeanAtK:P1}", $"{sc.MajAtK:P1}", $"{sc.PassAtK:P1}", $"{report.GeneratedTokens:N0}",
            $"{report.GeneratedTokens / Math.Max(report.WallSeconds, 1e-9):N0}");
        AnsiConsole.Write(table);
        if (skipped.Count > 0) AnsiConsole.MarkupLine($"[yellow]{skipped.Count} row(s) skipped[/]");
        var json = new JsonObject
        {
            ["model"] = modelDir, ["data"] = s.Data ?? $"built-in test split (level {s.Level})",
            ["queries"] = sc.Queries, ["k"] = sc.K, ["temperature"] = s.Temperature, ["max_tokens"] = maxTokens, ["seed"] = s.Seed,
            ["mean_at_k"] = sc.MeanAtK, ["maj_at_k"] = sc.MajAtK, ["pass_at_k"] = sc.PassAtK,
            ["generated_tokens"] = report.GeneratedTokens, ["wall_s"] = report.WallSeconds, ["skipped"] = skipped.Count,
        }.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        if (s.Json == "stdout") Console.WriteLine(json);
        else if (s.Json is not null) File.WriteAllText(s.Json, json + "\n");
        return 0;
    }
}
