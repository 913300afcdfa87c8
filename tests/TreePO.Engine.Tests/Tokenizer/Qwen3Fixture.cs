using TreePO.Engine.Tokenizer;

namespace TreePO.Engine.Tests.Tokenizer;

/// <summary>The real Qwen3 tokenizer files (fixtures/qwen3-tokenizer, see SOURCE.md there), loaded once per test run.</summary>
static class Qwen3Fixture
{
    public static string Dir => Path.Combine(AppContext.BaseDirectory, "fixtures", "qwen3-tokenizer");

    static readonly Lazy<HfTokenizer> Loaded = new(() => HfTokenizer.Load(Dir));

    public static HfTokenizer Tokenizer => Loaded.Value;

    /// <summary>A fresh folder holding a link to the fixture's tokenizer.json and the given extra files.</summary>
    public static string FolderWith(params (string Name, string Json)[] files)
    {
        string dir = Path.Combine(Path.GetTempPath(), "treepo-tok-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        File.CreateSymbolicLink(Path.Combine(dir, "tokenizer.json"), Path.Combine(Dir, "tokenizer.json"));
        foreach (var (name, json) in files)
            File.WriteAllText(Path.Combine(dir, name), json);
        return dir;
    }
}
