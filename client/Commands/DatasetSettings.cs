using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using TreePO.Core.Data;
using TreePO.Hosting.Options;

namespace TreePO.Client.Commands;

/// <summary>The flags every command that reads a dataset and builds prompts shares (`train`, `eval`, `rollout`):
/// the field preset, field maps over it, and the chat format.</summary>
public abstract class DatasetSettings : CommandSettings
{
    [CommandOption("--data-format <FORMAT>"), Description("Field preset of --data: jsonl (question, answer, id; default), verl (prompt messages, " +
        "reward_model.ground_truth, data_source, extra_info.index), gsm8k (answer after '#### '), math (problem, \\boxed{} of solution).")]
    public string? DataFormat { get; init; }

    [CommandOption("--question-field <PATH>"), Description("Field holding the question text or chat messages [[{role, content}]]; dotted paths reach into objects. Default: the preset's.")]
    public string? QuestionField { get; init; }

    [CommandOption("--answer-field <PATH>"), Description("Field holding the reference answer, a string or a number (e.g. reward_model.ground_truth). Default: the preset's.")]
    public string? AnswerField { get; init; }

    [CommandOption("--id-field <PATH>"), Description("Field holding the query id; rows without one are named file:row. Default: the preset's.")]
    public string? IdField { get; init; }

    [CommandOption("--chat-format <FORMAT>"), Description("Prompt:Format: auto (the model's chat_template, which must be ChatML-style; default), " +
        "chatml (ChatML whatever the template), raw (the question text as is).")]
    public string? ChatFormat { get; init; }

    /// <summary>The preset with the field maps on top; a mistyped preset is an <see cref="ArgumentException"/> naming the flag.</summary>
    public DatasetFields Fields() => DatasetFields.For(DatasetFields.ParseFormat(DataFormat), QuestionField, AnswerField, IdField);

    /// <summary>Applies --chat-format to the options tree (Prompt:Format); without it the tree's value stands.</summary>
    public void ApplyChatFormat(TreePOOptions options)
    {
        if (ChatFormat is not null) options.Prompt.Format = ParseChatFormat(ChatFormat);
    }

    static PromptFormat ParseChatFormat(string value) => value.ToLowerInvariant() switch
    {
        "auto" => PromptFormat.Auto,
        "chatml" => PromptFormat.ChatML,
        "raw" => PromptFormat.Raw,
        _ => throw new ArgumentException($"--chat-format must be auto, chatml or raw, got '{value}'"),
    };

    public override ValidationResult Validate()
    {
        try
        {
            Fields();
            if (ChatFormat is not null) ParseChatFormat(ChatFormat);
            foreach (var (flag, value) in new[] { ("--question-field", QuestionField), ("--answer-field", AnswerField), ("--id-field", IdField) })
                if (value is not null && (value.Length == 0 || value.Split('.').Any(string.IsNullOrWhiteSpace)))
                    return ValidationResult.Error($"{flag}: '{value}' is not a field name or a dotted path");
        }
        catch (ArgumentException e) { return ValidationResult.Error(e.Message); }
        return ValidationResult.Success();
    }

    /// <summary>An error when --data names neither a file nor a folder.</summary>
    public static string? DataExists(string? data, string flag = "--data") =>
        data is null || File.Exists(data) || Directory.Exists(data) ? null : $"{flag}: '{data}' is neither a file nor a folder";
}
