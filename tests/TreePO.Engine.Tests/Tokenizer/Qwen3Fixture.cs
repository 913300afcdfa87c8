using TreePO.Engine.Tokenizer;

namespace TreePO.Engine.Tests.Tokenizer;

/// <summary>The real Qwen3 tokenizer files (fixtures/qwen3-tokenizer, see SOURCE.md there), loaded once per test run.</summary>
static class Qwen3Fixture
{
    public static string Dir => Path.Combine(AppContext.BaseDirectory, "fixtures", "qwen3-tokenizer");

    static readonly Lazy<HfTokenizer> Loaded = new(() => HfTokenizer.Load(Dir));

    public static HfTokenizer Tokenizer => Loaded.Value;
}
