namespace TreePO.Grains.Training;

/// <summary>
/// A run's checkpoint folder runs/NAME/checkpoints/step-K: the trainer's weights and optimiser in Hugging Face layout,
/// the base model's tokenizer files (so any HF tool loads it as it is), and <see cref="RunState"/> written last: a
/// folder without it is incomplete and never resumed from.
/// </summary>
public static class RunCheckpoint
{
    public static async Task<string> WriteAsync(ITrainerGrain trainer, RunSpec spec, RunState state)
    {
        string dir = Path.Combine(spec.RunDir, "checkpoints", $"step-{state.Step}");
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        await trainer.SaveCheckpointAsync(dir);
        foreach (string file in Directory.GetFiles(spec.ModelDir))
        {
            string name = Path.GetFileName(file);
            bool tokenizerFile = name.StartsWith("tokenizer", StringComparison.Ordinal) || name is "vocab.json" or "merges.txt"
                or "special_tokens_map.json" or "generation_config.json" or "added_tokens.json";
            if (tokenizerFile && !File.Exists(Path.Combine(dir, name))) File.Copy(file, Path.Combine(dir, name));
        }
        state.Save(dir);
        return dir;
    }
}
