using System.ComponentModel;
using System.Text;
using Spectre.Console.Cli;
using TreePO.Engine.Tokenizer;
using TreePO.Hosting.Models;
using TreePO.Hosting.Options;
using TreePO.Hosting.Training;

namespace TreePO.Client.Commands;

/// <summary>`treepo tokenize [--model DIR]`: JSON string lines on stdin, JSON id arrays on stdout (see <see cref="TokenizeLines"/>).
/// The tokenizer is --model's, else Model:Path's, else the built-in model's. Only JSON reaches stdout: every
/// problem goes to stderr.</summary>
public sealed class TokenizeCommand : AsyncCommand<TokenizeCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--model <DIR>")]
        [Description("Model folder holding tokenizer.json (and optionally tokenizer_config.json, config.json). Default: Model:Path, else the built-in model.")]
        public string? Model { get; init; }
    }

    public override Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        HfTokenizer tokenizer;
        try
        {
            string? dir = settings.Model is { Length: > 0 } given ? given : CommandOptions.Load(new Dictionary<string, string>()).Model.Path;
            dir = string.IsNullOrWhiteSpace(dir) ? ModelFolder.Resolve(null) : dir;
            if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"model folder {Path.GetFullPath(dir)} does not exist");
            tokenizer = HfTokenizer.Load(dir);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or PlatformNotSupportedException
            or ModelFolderException or TreePOOptionsException)
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
