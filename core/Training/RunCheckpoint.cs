namespace TreePO.Core.Training;

/// <summary>
/// A run's checkpoint folder runs/NAME/checkpoints/step-K: the trainer's weights and optimiser in Hugging Face layout
/// (written by <c>saveModel</c>, the trainer grain's save),
/// the base model's tokenizer files (so any HF tool loads it as it is), and <see cref="RunState"/>. All of it is
/// written into a hidden temporary folder beside it and renamed into place last, so a crash mid-write leaves either
/// the old folder or the new one, never a torn one; leftover temporary folders are removed by the next write that succeeds.
/// </summary>
public static class RunCheckpoint
{
    const string TempPrefix = ".partial-";

    public static async Task<string> WriteAsync(string runDir, string modelDir, RunState state, Func<string, Task> saveModel,
        CancellationToken cancellationToken = default)
    {
        string root = Path.Combine(runDir, "checkpoints");
        string dir = Path.Combine(root, $"step-{state.Step}");
        string temp = Path.Combine(root, $"{TempPrefix}step-{state.Step}");
        // File work off the grain's scheduler: the trainer's save runs on its own thread, these copies on the pool.
        await Task.Run(() =>
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
            Directory.CreateDirectory(temp);
        }, cancellationToken);
        await saveModel(temp);
        await Task.Run(() => CopyTokenizer(modelDir, temp), cancellationToken);
        await state.SaveAsync(temp, cancellationToken);
        await Task.Run(() =>
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);   // the same step written again (a resumed run)
            Directory.Move(temp, dir);
            foreach (string left in Directory.GetDirectories(root, TempPrefix + "*"))   // of earlier writes that died
                Directory.Delete(left, recursive: true);
        }, cancellationToken);
        return dir;
    }

    static void CopyTokenizer(string modelDir, string dir)
    {
        foreach (string file in Directory.GetFiles(modelDir))
        {
            string name = Path.GetFileName(file);
            bool tokenizerFile = name.StartsWith("tokenizer", StringComparison.Ordinal) || name is "vocab.json" or "merges.txt"
                or "special_tokens_map.json" or "generation_config.json" or "added_tokens.json";
            if (tokenizerFile && !File.Exists(Path.Combine(dir, name))) File.Copy(file, Path.Combine(dir, name));
        }
    }
}
