using TreePO.Hosting.Processes;
using TreePO.Client;
using TreePO.Hosting.Options;
using TreePO.Hosting.Training;
using Spectre.Console.Cli;
using TreePO.Client.Commands;

PlainOutput.Configure();   // before any output: plain lines when stdout is not a terminal
// Before anything touches TorchSharp: a libtorch named by TREEPO_LIBTORCH must be the one it finds (docs/deploy.md).
if (TreePO.Engine.Native.ExternalTorch.TryLoadConfigured() is { } torchError)
{
    Spectre.Console.AnsiConsole.MarkupLine($"[red]{Spectre.Console.Markup.Escape(torchError)}[/]");
    return 2;
}
var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("treepo");
    config.Settings.StrictParsing = true;   // a mistyped option is refused, never taken as a stray argument
    config.AddCommand<DoctorCommand>("doctor")
        .WithDescription("Check .NET, TorchSharp and its native library, and an embedded Orleans silo.");
    config.AddCommand<ScoreCommand>("score").WithDescription("Score JSON lines {response, answer} from stdin with the math reward.");
    config.AddCommand<RolloutCommand>("rollout").WithDescription("Run a batch of query trees through the cluster; write trees.jsonl and summary.json.");
    config.AddCommand<TokenizeCommand>("tokenize").WithDescription("Read JSON strings (one a line) on stdin, write their token ids as JSON arrays on stdout.");
    config.AddCommand<PretrainCommand>("pretrain")
        .WithDescription("Make the built-in base model: tokenizer, small Qwen2, supervised fine-tuning stopped early.");
    config.AddCommand<TrainCommand>("train").WithDescription("TreePO (or --algo grpo) training in an embedded silo; writes runs/NAME/."
        + Environment.NewLine + Environment.NewLine + OptionKeys.Help(CommandOptions.Defaults(CommandOptions.TrainOverlay))
        + Environment.NewLine + "At --level 5 (the built-in task's deep level, no --data), under every source: "
        + string.Join(", ", CommandOptions.DeepOverlay.Select(kv => $"{kv.Key} = {kv.Value}")) + ".");
    config.AddCommand<EvalCommand>("eval").WithDescription("Held-out mean@k, maj@k and pass@k of a model folder.");
    config.AddCommand<StatusCommand>("status").WithDescription("Where a training run stands on a running cluster (the options tree names it, as for train --cluster).");
});
string[] rest = OptionOverrides.Capture(args);   // --a.b=v overrides: Spectre rejects dotted names
var settingsOf = new Dictionary<string, Type>(StringComparer.OrdinalIgnoreCase)
{
    ["doctor"] = typeof(DoctorCommand.Settings), ["score"] = typeof(ScoreCommand.Settings), ["rollout"] = typeof(RolloutCommand.Settings),
    ["tokenize"] = typeof(TokenizeCommand.Settings), ["pretrain"] = typeof(PretrainCommand.Settings),
    ["train"] = typeof(TrainCommand.Settings), ["eval"] = typeof(EvalCommand.Settings), ["status"] = typeof(StatusCommand.Settings),
};
if (UnknownOptions.Check(rest, settingsOf) is { } unknown)
{
    Spectre.Console.AnsiConsole.MarkupLine($"[red]{Spectre.Console.Markup.Escape(unknown)}[/]");
    return 2;
}
int rc = await app.RunAsync(rest);
// A command stopped by a signal (rollout, train): a stop that overran its graceful share decides the exit code.
if (ShutdownGuard.Current is { HasBegun: true } guard && guard.Finish() is var stopCode and not 0) rc = stopCode;
return rc;
