using System.Text.Json;
using TreePO.Core.Data;
using TreePO.Core.Tasks;
using TreePO.Core.Trees;
using TreePO.Grains.Trees;

namespace TreePO.Grains.Training;

/// <summary>Refuses, at start and with the reason, a run spec that cannot work. Every problem is listed.</summary>
public static class RunSpecCheck
{
    public static TreeConfig TreeConfigOf(RunSpec spec)
    {
        try
        {
            return JsonSerializer.Deserialize<TreeConfig>(spec.TreeConfigJson, Core.Trees.TreeJson.Options)
                ?? throw new ArgumentException("the run's tree config is null");
        }
        catch (JsonException e) { throw new ArgumentException($"the run's tree config is not valid JSON: {e.Message}", e); }
    }

    /// <summary>The field map both of the run's datasets are read with.</summary>
    public static DatasetFields DataFieldsOf(RunSpec spec) =>
        DatasetFields.For(DatasetFields.ParseFormat(spec.DataFormat, "data format"), spec.QuestionField, spec.AnswerField, spec.IdField);

    /// <param name="modelContext">The most tokens (prompt + response) the model and every engine accept; 0 skips
    /// the checks that need it.</param>
    public static IReadOnlyList<string> Validate(RunSpec spec, int modelContext)
    {
        var errors = new List<string>();
        void Check(bool ok, string why) { if (!ok) errors.Add(why); }
        Check(!string.IsNullOrWhiteSpace(spec.RunId), "run id must not be empty");
        Check(!string.IsNullOrWhiteSpace(spec.RunDir), "run folder must not be empty");
        Check(File.Exists(Path.Combine(spec.ModelDir, "config.json")), $"model folder '{spec.ModelDir}' has no config.json");
        Check(spec.DataPath is null || File.Exists(spec.DataPath) || Directory.Exists(spec.DataPath), $"dataset '{spec.DataPath}' does not exist");
        Check(spec.EvalDataPath is null || File.Exists(spec.EvalDataPath) || Directory.Exists(spec.EvalDataPath),
            $"held-out dataset '{spec.EvalDataPath}' does not exist");
        try { DataFieldsOf(spec); }
        catch (ArgumentException e) { errors.Add(e.Message); }
        Check(spec.DataPath is not null && spec.EvalDataPath is not null || spec.TaskLevel is >= 1 and <= ArithmeticDifficulty.MaxLevel,
            $"task level must be 1 to {ArithmeticDifficulty.MaxLevel}, got {spec.TaskLevel}");
        Check(spec.Steps >= 1, $"steps must be at least 1, got {spec.Steps}");
        Check(spec.QueriesPerStep >= 1, $"queries per step must be at least 1, got {spec.QueriesPerStep}");
        Check(spec.Oversample >= 1 && double.IsFinite(spec.Oversample), $"oversample must be 1 or more, got {spec.Oversample}");
        Check(spec.MaxExtraRounds >= 0, $"extra sampling rounds must not be negative, got {spec.MaxExtraRounds}");
        Check(spec.EvalEvery >= 0, $"eval-every must be 0 (before and after only) or more, got {spec.EvalEvery}");
        Check(spec.EvalQueries >= 1, $"eval queries must be at least 1, got {spec.EvalQueries}");
        Check(spec.EvalK >= 1, $"eval k must be at least 1, got {spec.EvalK}");
        Check(spec.EvalTemperature >= 0 && float.IsFinite(spec.EvalTemperature), $"eval temperature must be 0 or more, got {spec.EvalTemperature}");
        Check(spec.EvalMaxTokens >= 1, $"eval max tokens must be at least 1, got {spec.EvalMaxTokens}");
        Check(spec.CheckpointEvery >= 0, $"checkpoint-every must be 0 (last step only) or more, got {spec.CheckpointEvery}");
        Check(spec.Trainer.Algo is "treepo" or "grpo", $"algo must be treepo or grpo, got '{spec.Trainer.Algo}'");
        var settingErrors = TrainerGrain.SettingErrors(spec.Trainer);
        errors.AddRange(settingErrors);
        if (settingErrors.Count == 0) errors.AddRange(TrainerGrain.ToOptions(spec.Trainer).Validate());

        TreeConfig config;
        try { config = TreeConfigOf(spec); }
        catch (ArgumentException e) { errors.Add(e.Message); return errors; }
        errors.AddRange(config.Validate().Select(e => "tree: " + e));
        Check(config.Width >= config.Branch,
            $"tree: w (Width={config.Width}) is smaller than b (Branch={config.Branch}): a step could never fork b branches within the width");
        if (modelContext > 0 && config.SegmentLength >= 1 && config.Depth >= 1)
        {
            Check(config.ResponseBudget < modelContext,
                $"tree: d*l = {config.Depth}*{config.SegmentLength} = {config.ResponseBudget} response tokens do not fit the model's context of {modelContext} tokens with a prompt");
            Check(spec.EvalMaxTokens < modelContext,
                $"eval max tokens {spec.EvalMaxTokens} do not fit the model's context of {modelContext} tokens with a prompt");
        }
        return errors;
    }

    public static void EnsureValid(RunSpec spec, int modelContext)
    {
        var errors = Validate(spec, modelContext);
        if (errors.Count > 0) throw new ArgumentException("the run cannot start: " + string.Join("; ", errors));
    }
}
