using System.IO.Compression;
using TreePO.Engine.Tokenizer;

namespace TreePO.Engine.Tests.Tokenizer;

/// <summary>The real Qwen3 tokenizer files (fixtures/qwen3-tokenizer, see SOURCE.md there), loaded once per test run.
/// tokenizer.json is kept gzipped in the repository (11 MB as it is, 2 MB gzipped: what a checkout weighs matters where
/// it must travel, e.g. to a GPU machine); it is unpacked once into a temporary folder beside the other files.</summary>
static class Qwen3Fixture
{
    static string Packed => Path.Combine(AppContext.BaseDirectory, "fixtures", "qwen3-tokenizer");

    static readonly Lazy<string> Unpacked = new(() =>
    {
        string dir = TreePO.Testing.ScratchFolders.Create("treepo-qwen3-tokenizer-").FullName;
        foreach (string file in Directory.EnumerateFiles(Packed))
        {
            if (file.EndsWith(".gz", StringComparison.Ordinal))
            {
                using var source = new GZipStream(File.OpenRead(file), CompressionMode.Decompress);
                using var target = File.Create(Path.Combine(dir, Path.GetFileNameWithoutExtension(file)));
                source.CopyTo(target);
            }
            else File.Copy(file, Path.Combine(dir, Path.GetFileName(file)), overwrite: true);
        }
        return dir;
    });

    /// <summary>The fixture as a Hugging Face tokenizer folder (tokenizer.json unpacked).</summary>
    public static string Dir => Unpacked.Value;

    static readonly Lazy<HfTokenizer> Loaded = new(() => HfTokenizer.Load(Dir));

    public static HfTokenizer Tokenizer => Loaded.Value;
}
