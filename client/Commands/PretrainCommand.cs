using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using TreePO.Core.Tasks;
using TreePO.Engine.Training;

namespace TreePO.Client.Commands;

/// <summary>`treepo pretrain`: makes the built-in base model (tokenizer + small Qwen2 + SFT, stopped early).</summary>
public sealed class PretrainCommand : AsyncCommand<PretrainCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--out <DIR>"), Description("Output model folder (Hugging Face layout; default models/builtin, models/builtin-deep at level 5).")]
        public string? Out { get; init; }
        [CommandOption("--seed <N>"), Description("Seed of the problems, the initial weights and the evaluations' draws (default 1).")] public ulong Seed { get; init; } = new PretrainOptions().Seed;
        [CommandOption("--difficulty <N>"), Description("Task difficulty level 1-5 (5: worked, long solutions; default 2).")]
        public int Difficulty { get; init; } = new PretrainOptions().Difficulty;
        [CommandOption("--merges <N>"), Description("BPE merges of the tokenizer (default 600).")] public int Merges { get; init; } = new PretrainOptions().TokenizerMerges;
        [CommandOption("--hidden <N>"), Description("Hidden size (default 128).")] public int Hidden { get; init; } = new PretrainOptions().HiddenSize;
        [CommandOption("--layers <N>"), Description("Transformer layers (default 4).")] public int Layers { get; init; } = new PretrainOptions().Layers;
        [CommandOption("--heads <N>"), Description("Attention heads (default 4).")] public int Heads { get; init; } = new PretrainOptions().Heads;
        [CommandOption("--kv-heads <N>"), Description("Key/value heads, grouped-query attention (default 2).")] public int KvHeads { get; init; } = new PretrainOptions().KvHeads;
        [CommandOption("--intermediate <N>"), Description("Width of the MLP (default 352).")] public int Intermediate { get; init; } = new PretrainOptions().IntermediateSize;
        [CommandOption("--steps <N>"), Description("Most SFT steps (default 2000).")] public int Steps { get; init; } = new PretrainOptions().MaxSteps;
        [CommandOption("--batch <N>"), Description("Problems a step (default 32).")] public int Batch { get; init; } = new PretrainOptions().BatchSize;
        [CommandOption("--lr <LR>"), Description("Peak learning rate, after a linear warm-up, cosine decay (default 0.003).")] public double LearningRate { get; init; } = new PretrainOptions().LearningRate;
        [CommandOption("--eval-every <N>"), Description("Steps between held-out evaluations (default 25; 50 at level 5).")] public int? EvalEvery { get; init; }
        [CommandOption("--eval-queries <N>"), Description("Held-out queries of each evaluation (default 128; 64 at level 5).")] public int? EvalQueries { get; init; }
        [CommandOption("--eval-k <K>"), Description("Samples per held-out query, the k of mean@k (default 4).")] public int EvalK { get; init; } = new PretrainOptions().EvalK;
        [CommandOption("--tokenizer-corpus <N>"), Description("Training problems the tokenizer is learned from (default 4000).")]
        public int TokenizerCorpus { get; init; } = new PretrainOptions().TokenizerCorpus;
        [CommandOption("--max-positions <N>"), Description("The model's max_position_embeddings (default 256; 512 at level 5).")]
        public int? MaxPositions { get; init; }
        [CommandOption("--max-response-tokens <N>"), Description("Response budget of the held-out evaluation (default 64; 256 at level 5).")]
        public int? MaxResponseTokens { get; init; }
        [CommandOption("--stop-at <ACC>"), Description("Stop at this held-out mean@k, sampling at temperature 1 (default 0.3).")]
        public double StopAt { get; init; } = new PretrainOptions().StopAtAccuracy;
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        var level = PretrainOptions.ForDifficulty(s.Difficulty);   // the level's defaults under the flags
        var options = level with
        {
            OutputDir = s.Out ?? level.OutputDir,
            Seed = s.Seed,
            TokenizerMerges = s.Merges,
            HiddenSize = s.Hidden,
            Layers = s.Layers,
            Heads = s.Heads,
            KvHeads = s.KvHeads,
            IntermediateSize = s.Intermediate,
            MaxSteps = s.Steps,
            BatchSize = s.Batch,
            LearningRate = s.LearningRate,
            EvalEvery = s.EvalEvery ?? level.EvalEvery,
            EvalQueries = s.EvalQueries ?? level.EvalQueries,
            EvalK = s.EvalK,
            StopAtAccuracy = s.StopAt,
            TokenizerCorpus = s.TokenizerCorpus,
            MaxPositions = s.MaxPositions ?? level.MaxPositions,
            MaxResponseTokens = s.MaxResponseTokens ?? level.MaxResponseTokens,
        };
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            foreach (string e in errors) AnsiConsole.MarkupLine($"[red]{Markup.Escape(e)}[/]");
            return 2;
        }
        var table = new Table().AddColumns("step", "loss", "mean@k", "maj@k", "pass@k", "wall s");
        PretrainResult result = null!;
        try
        {
            if (PlainOutput.IsPlain)
                result = await Pretraining.RunAsync(options, new Progress<PretrainPoint>(p => PlainOutput.Line(
                    $"step {p.Step}: loss {p.Loss:F3} mean@k {p.MeanAtK:P1} maj@k {p.MajAtK:P1} pass@k {p.PassAtK:P1} wall {p.WallSeconds:F0} s")),
                    cancellationToken);
            else
                await AnsiConsole.Live(table).StartAsync(async live =>
                {
                    var progress = new Progress<PretrainPoint>(p =>
                    {
                        table.AddRow($"{p.Step}", $"{p.Loss:F3}", $"{p.MeanAtK:P1}", $"{p.MajAtK:P1}", $"{p.PassAtK:P1}", $"{p.WallSeconds:F0}");
                        live.Refresh();
                    });
                    result = await Pretraining.RunAsync(options, progress, cancellationToken);
                });
        }
        catch (ArgumentException e)
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]");
            return 2;
        }
        AnsiConsole.MarkupLine(result.ReachedTarget
            ? $"[green]stopped at step {result.Steps}: held-out mean@{options.EvalK} {result.FinalMeanAtK:P1} >= {options.StopAtAccuracy:P0}[/]"
            : $"[yellow]ran all {result.Steps} steps: held-out mean@{options.EvalK} {result.FinalMeanAtK:P1} is below the target {options.StopAtAccuracy:P0}[/]");
        AnsiConsole.MarkupLine($"model: {Markup.Escape(result.OutputDir)} ({result.Parameters:N0} parameters, vocabulary {result.VocabSize})");
        return 0;
    }
}
