namespace TreePO.Hosting.Models;

/// <summary>
/// Where the policy model lives. <c>Model:Path</c> names a Hugging Face folder; empty means the built-in model,
/// <see cref="BuiltIn"/> under the working directory or a folder above it (so `dotnet run --project client` finds it
/// from anywhere in the repository).
/// </summary>
public static class ModelFolder
{
    public const string BuiltIn = "models/builtin";

    static readonly string[] Required = ["config.json", "tokenizer.json"];

    /// <summary>The model folder to load, checked: it exists and holds config.json, tokenizer.json and weights.
    /// Throws <see cref="ModelFolderException"/> saying what is missing and what to pass instead.</summary>
    public static string Resolve(string? path)
    {
        string dir = string.IsNullOrWhiteSpace(path) ? FindBuiltIn() : Path.GetFullPath(path);
        if (!Directory.Exists(dir))
            throw new ModelFolderException($"model folder {dir} does not exist; pass a Hugging Face model folder with --model DIR (or --model.path=DIR)");
        var missing = Required.Where(f => !File.Exists(Path.Combine(dir, f))).ToList();
        if (!File.Exists(Path.Combine(dir, "model.safetensors")) && !File.Exists(Path.Combine(dir, "model.safetensors.index.json")))
            missing.Add("model.safetensors");
        if (missing.Count > 0)
            throw new ModelFolderException($"model folder {dir} lacks {string.Join(", ", missing)}; a model folder holds config.json, model.safetensors and tokenizer.json");
        return dir;
    }

    static string FindBuiltIn()
    {
        for (var d = new DirectoryInfo(Directory.GetCurrentDirectory()); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, BuiltIn);
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new ModelFolderException(
            $"no model given and the built-in model is not installed ({BuiltIn} is not in {Directory.GetCurrentDirectory()} " +
            "or a folder above it); pass a Hugging Face model folder with --model DIR (or --model.path=DIR)");
    }
}

/// <summary>The model folder is missing or incomplete; the message says what to pass.</summary>
public sealed class ModelFolderException(string message) : Exception(message);
