using System.Reflection;
using System.Text.RegularExpressions;

namespace TreePO.Core.Tests.Docs;

/// <summary>
/// The docs walk the code file by file (docs/architecture.md's segment request, engine/README.md's parts, the
/// deviations of docs/paper.md): every repository path they name must exist, so a move or a rename that forgets the
/// docs fails here instead of misleading the next reader.
/// </summary>
public sealed partial class DocumentedPathsTests
{
    static readonly string Root = typeof(DocumentedPathsTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RepoRoot").Value!;

    // A path from the repository root: a top folder of the project, then folders, then a file with an extension.
    [GeneratedRegex(@"(?<![\w./-])((?:core|engine|grains|host|client|silo|bench|tests|scripts|docs|models|build)/[\w./-]*\w\.(?:cs|md|json|jsonl|csproj|props|targets|sh|py|png|txt|svg)\b)")]
    private static partial Regex RepoPath();

    // engine/README.md names its files relative to engine/ in its table: `Folder/File.cs` or `File.cs`.
    [GeneratedRegex(@"`((?:[A-Z]\w*/)*[A-Z]\w*\.cs)`")]
    private static partial Regex EngineRelativePath();

    public static TheoryData<string> Documents()
    {
        var docs = new TheoryData<string>();
        foreach (string f in Directory.GetFiles(Path.Combine(Root, "docs"), "*.md").Order(StringComparer.Ordinal))
            docs.Add(Path.GetRelativePath(Root, f));
        docs.Add("README.md");
        docs.Add("engine/README.md");
        return docs;
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void Every_path_a_document_names_exists(string document)
    {
        string text = File.ReadAllText(Path.Combine(Root, document));
        string folder = Path.GetDirectoryName(Path.Combine(Root, document))!;
        var missing = RepoPath().Matches(text).Select(m => m.Groups[1].Value)
            .Where(p => !File.Exists(Path.Combine(Root, p)) && !File.Exists(Path.Combine(folder, p))) // links may be relative
            .ToList();
        if (document == "engine/README.md")
        {
            // A bare name in a table cell continues the folder named before it (`Kv/KvPool.cs`, `KvSlot.cs`).
            var engineFiles = Directory.GetFiles(folder, "*.cs", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(folder, f).Replace('\\', '/')).ToList();
            missing.AddRange(EngineRelativePath().Matches(text).Select(m => m.Groups[1].Value)
                .Where(p => !engineFiles.Any(f => f == p || f.EndsWith("/" + p, StringComparison.Ordinal)))
                .Select(p => "engine/" + p));
        }
        missing = missing.Distinct(StringComparer.Ordinal).ToList();
        Assert.True(missing.Count == 0, $"{document} names files that do not exist: {string.Join(", ", missing)}");
    }

    [Fact]
    public void The_pattern_finds_paths_in_prose_and_code_spans()
    {
        string text = "see (core/Trees/TreeSampler.cs) and `engine/Execution/StepRunner.cs`, not runs/x/summary.json";
        Assert.Equal(["core/Trees/TreeSampler.cs", "engine/Execution/StepRunner.cs"],
            RepoPath().Matches(text).Select(m => m.Groups[1].Value));
    }

    // A step of the walk: "1. **grains/TreePO.Grains/Trees/QueryTreeGrain.cs** -- ...".
    [GeneratedRegex(@"^\d+\. \*\*([\w./-]+\.cs)\*\*", RegexOptions.Multiline)]
    private static partial Regex WalkStep();

    [Fact]
    public void The_segment_request_walk_names_at_most_six_files_from_the_tree_grain_to_the_engine()
    {
        string doc = File.ReadAllText(Path.Combine(Root, "docs", "architecture.md"));
        int start = doc.IndexOf("## One segment request, end to end", StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/architecture.md has no section 'One segment request, end to end'");
        int end = doc.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var files = WalkStep().Matches(doc[start..(end < 0 ? doc.Length : end)]).Select(m => m.Groups[1].Value).ToList();
        Assert.InRange(files.Count, 2, 6);
        Assert.Equal(files.Count, files.Distinct().Count());
        Assert.Equal("grains/TreePO.Grains/Trees/QueryTreeGrain.cs", files[0]);
        Assert.Equal("engine/InferenceEngine.cs", files[^1]);
        Assert.All(files, f => Assert.True(File.Exists(Path.Combine(Root, f)), $"the walk names {f}, which does not exist"));
    }
}
