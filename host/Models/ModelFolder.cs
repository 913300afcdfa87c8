namespace TreePO.Hosting.Models;

/// <summary>
/// Where the policy model lives. <c>Model:Path</c> (or a command's --model) names a Hugging Face folder; empty means
/// the built-in model: <see cref="BuiltIn"/> under the working folder or a folder above it (a model just made there by
/// `treepo pretrain`, or the repository's own when run from inside it), else the copy that the build ships next to
/// the program, so a command finds it from any folder. The built-in models can also be named (<see cref="Names"/>:
/// `builtin`, and `builtin-deep` for the deep level of the built-in task); a folder of that name in the working
/// folder wins over the name.
/// </summary>
public static class ModelFolder
{
    public const string BuiltIn = TreePO.Engine.Training.PretrainOptions.BuiltInFolder;
    /// <summary>The built-in model of the task's deep level (level 5: worked solutions of 120-200 tokens).</summary>
    public const string BuiltInDeep = TreePO.Engine.Training.PretrainOptions.BuiltInDeepFolder;

    /// <summary>The built-in models by name (their folder's name).</summary>
    public static readonly IReadOnlyDictionary<string, string> Names =
        new[] { BuiltIn, BuiltInDeep }.ToDictionary(f => Path.GetFileName(f), f => f);

    static readonly string[] Required = ["config.json", "tokenizer.json"];

    /// <summary>The model folder to load, checked: it exists and holds config.json, tokenizer.json and weights.
    /// Throws <see cref="ModelFolderException"/> saying what is missing and what to pass instead.</summary>
    public static string Resolve(string? path)
    {
        string dir = string.IsNullOrWhiteSpace(path) ? FindBuiltIn(BuiltIn)
            : Names.TryGetValue(path, out string? named) && !Directory.Exists(path) ? FindBuiltIn(named)
            : Path.GetFullPath(path);
        if (!Directory.Exists(dir))
            throw new ModelFolderException($"model folder {dir} does not exist; pass a Hugging Face model folder with --model DIR (or --model.path=DIR)");
        var missing = Required.Where(f => !File.Exists(Path.Combine(dir, f))).ToList();
        if (!File.Exists(Path.Combine(dir, "model.safetensors")) && !File.Exists(Path.Combine(dir, "model.safetensors.index.json")))
            missing.Add("model.safetensors");
        if (missing.Count > 0)
            throw new ModelFolderException($"model folder {dir} lacks {string.Join(", ", missing)}; a model folder holds config.json, model.safetensors and tokenizer.json");
        return dir;
    }

    /// <summary>A built-in model's folder (<paramref name="relative"/>, e.g. <see cref="BuiltIn"/>), or null when
    /// neither the working folder (and those above it) nor the program's folder has one.</summary>
    static string? FindBuiltInOrNull(string relative)
    {
        for (var d = new DirectoryInfo(Directory.GetCurrentDirectory()); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, relative);
            if (Directory.Exists(candidate)) return candidate;
        }
        string beside = Path.Combine(AppContext.BaseDirectory, relative);
        return Directory.Exists(beside) ? beside : null;
    }

    static string FindBuiltIn(string relative) => FindBuiltInOrNull(relative) ?? throw new ModelFolderException(
        $"{(relative == BuiltIn ? "no model given and the built-in model" : $"the built-in model {Path.GetFileName(relative)}")} is not installed " +
        $"({relative} is neither in {Directory.GetCurrentDirectory()} or a folder above it nor beside the program in {AppContext.BaseDirectory}); " +
        "pass a Hugging Face model folder with --model DIR (or --model.path=DIR)");
}

