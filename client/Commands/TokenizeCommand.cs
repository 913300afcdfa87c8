using System.ComponentModel;
using System.Text;
using Spectre.Console;
using Spectre.Console.Cli;
using TreePO.Engine.Tokenizer;

namespace TreePO.Client.Commands;

/// <summary>`treepo tokenize --model DIR`: JSON string lines on stdin, JSON id arrays on stdout (see <see cref="TokenizeLines"/>).</summary>
public sealed class TokenizeCommand : AsyncCommand<TokenizeCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--model <DIR>")]
        [Description("Model folder holding tokenizer.json (and optionally tokenizer_config.json, config.json).")]
        public string? Model { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Model) ? ValidationResult.Error("--model DIR is required")
            : !Directory.Exists(Model) ? ValidationResult.Error($"--model: folder '{Model}' does not exist")
            : ValidationResult.Success();
    }

    public override Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        HfTokenizer tokenizer;
        try
        {
            tokenizer = HfTokenizer.Load(settings.Model!);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            Console.Error.WriteLine($"treepo tokenize: {e.Message}");
            return Task.FromResult(2);
        }
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        using var input = new StreamReader(Console.OpenStandardInput(), utf8);
        using var output = new StreamWriter(Console.OpenStandardOutput(), utf8) { NewLine = "\n" };
        int bad = TokenizeLines.Run(tokenizer, input, output, Console.Error);
        return Task.FromResult(bad == 0 ? 0 : 1);
    }
}
