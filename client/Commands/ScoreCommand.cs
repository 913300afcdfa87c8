using System.ComponentModel;
using Spectre.Console.Cli;
using TreePO.Core.Reward;

namespace TreePO.Client.Commands;

/// <summary>`treepo score`: JSON lines {"response", "answer"[, "response_tokens"]} on stdin, JSON lines {"correct",
/// "extracted", "reward"} on stdout. A bad line is reported on stderr with its number and skipped; the exit code is 1
/// if any was. The reward options are those of the Reward section (docs/reward.md).</summary>
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

        [CommandOption("--boxed-only")]
        [Description("Only a \\boxed{} answer counts: no \"the answer is\" or last-number fallback (Reward:BoxedOnly).")]
        public bool BoxedOnly { get; init; }

        [CommandOption("--overlong-buffer <TOKENS>")]
        [Description("DAPO overlong penalty over the last TOKENS of --response-budget, for lines with \"response_tokens\" (default 0: off).")]
        [DefaultValue(0)]
        public int OverlongBuffer { get; init; }

        [CommandOption("--overlong-penalty <P>")]
        [Description("The overlong penalty at the end of the budget (default 1).")]
        [DefaultValue(1.0)]
        public double OverlongPenalty { get; init; } = 1.0;

        [CommandOption("--response-budget <TOKENS>")]
        [Description("Response budget in tokens the overlong penalty measures against (required with --overlong-buffer).")]
        [DefaultValue(0)]
        public int ResponseBudget { get; init; }

        public override Spectre.Console.ValidationResult Validate()
        {
            if (OverlongBuffer > 0 && ResponseBudget <= 0)
                return Spectre.Console.ValidationResult.Error("--overlong-buffer needs --response-budget (the response length limit in tokens)");
            var errors = ToRewardSettings().Validate("--");
            return errors.Count == 0 ? Spectre.Console.ValidationResult.Success()
                : Spectre.Console.ValidationResult.Error(string.Join("; ", errors.Select(OptionName)));
        }

        public RewardSettings ToRewardSettings() =>
            new(CorrectScore, WrongScore, BoxedOnly, OverlongBuffer, OverlongPenalty, ResponseBudget);

        // "--OverlongBuffer must ..." reads as the flag a user typed: "--overlong-buffer must ...".
        static string OptionName(string error)
        {
            int space = error.IndexOf(' ');
            string key = error[2..space];
            string flag = string.Concat(key.Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
            return "--" + flag + error[space..];
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var summary = await ScoreLines.RunAsync(Console.In, Console.Out, Console.Error,
            new MathReward(settings.ToRewardSettings()), cancellationToken);
        return summary.Errors > 0 ? 1 : 0;
    }
}
