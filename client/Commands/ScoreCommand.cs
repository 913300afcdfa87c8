using System.ComponentModel;
using Spectre.Console.Cli;
using TreePO.Core.Reward;

namespace TreePO.Client.Commands;

/// <summary>`treepo score`: JSON lines {"response", "answer"} on stdin, JSON lines {"correct", "extracted", "reward"}
/// on stdout. A bad line is reported on stderr with its number and skipped; the exit code is 1 if any was.</summary>
public sealed class ScoreCommand : AsyncCommand<ScoreCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--wrong-score <SCORE>")]
        [Description("Reward of a wrong answer: -1 (the authors' runs, default) or e.g. 0.")]
        [DefaultValue(-1.0)]
        public double WrongScore { get; init; } = -1.0;

        [CommandOption("--correct-score <SCORE>")]
        [Description("Reward of a correct answer (default 1).")]
        [DefaultValue(1.0)]
        public double CorrectScore { get; init; } = 1.0;
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var summary = await ScoreLines.RunAsync(Console.In, Console.Out, Console.Error,
            new MathReward(settings.CorrectScore, settings.WrongScore), cancellationToken);
        return summary.Errors > 0 ? 1 : 0;
    }
}
