using System.Text.RegularExpressions;
using TreePO.Hosting.Options;
using TreePO.Hosting.Training;

namespace TreePO.Grains.Tests.Hosting;

/// <summary>docs/configuration.md's key tables against the options classes they describe (the help prints the same
/// list from <see cref="OptionKeys"/>): a key added, removed or given another default fails here until the docs follow.</summary>
public sealed partial class ConfigurationDocsTests
{
    static string Docs()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string path = Path.Combine(dir.FullName, "docs", "configuration.md");
            if (File.Exists(path)) return File.ReadAllText(path);
        }
        throw new FileNotFoundException("docs/configuration.md above " + AppContext.BaseDirectory);
    }

    /// <summary>The rows of the table whose header starts with <paramref name="header"/>: first two cells.</summary>
    static List<(string Key, string Default)> Table(string docs, string header)
    {
        var lines = docs.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        int start = lines.FindIndex(l => l.StartsWith(header, StringComparison.Ordinal));
        Assert.True(start >= 0, $"no table '{header}' in docs/configuration.md");
        var rows = new List<(string, string)>();
        for (int i = start + 2; i < lines.Count && lines[i].StartsWith('|'); i++)
        {
            var cells = CellSplit().Split(lines[i]).Skip(1).Select(c => c.Trim()).ToList();
            rows.Add((cells[0].Trim('`'), cells[1] == "empty" ? "empty" : cells[1].Trim('`')));
        }
        return rows;
    }

    [Fact]
    public void The_key_table_lists_every_key_with_its_default_in_order()
    {
        var expected = OptionKeys.Of(new TreePOOptions()).Select(k => (k.Key, k.Value)).ToList();
        Assert.Equal(expected, Table(Docs(), "| Key | Default | Meaning |"));
    }

    [Fact]
    public void The_train_and_eval_table_is_their_overlay()
    {
        var rows = Table(Docs(), "| Key | `train` | `eval` |");
        Assert.Equal(CommandOptions.TrainOverlay.Keys.Order(), rows.Select(r => r.Key).Order());
        foreach (var (key, value) in rows) Assert.Equal(CommandOptions.TrainOverlay[key], value);
        var lines = Docs().Split('\n');
        foreach (var (key, value) in CommandOptions.EvalOverlay)
            Assert.Contains(lines, l => l.StartsWith($"| `{key}` |", StringComparison.Ordinal) && l.TrimEnd().EndsWith($"| `{value}` |"));
        var deep = Table(Docs(), "| Key | `train` and `eval` at level 5 |");
        Assert.Equal(CommandOptions.DeepOverlay.OrderBy(kv => kv.Key), deep.Select(r => new KeyValuePair<string, string>(r.Item1, r.Item2)).OrderBy(kv => kv.Key));
        // The help's list is the same walk over train's defaults.
        string help = OptionKeys.Help(CommandOptions.Defaults(CommandOptions.TrainOverlay));
        Assert.Contains("  Engine:MaxSlots = 256", help);
        Assert.Contains("  Tree:SegmentLength = 16", help);
        Assert.Contains("  Advantage:Estimator = empty", help);
    }

    [GeneratedRegex(@"(?<!\\)\|")]
    private static partial Regex CellSplit();
}
