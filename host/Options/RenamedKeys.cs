namespace TreePO.Hosting.Options;

/// <summary>Options-tree keys that were renamed: an old key is refused with the new one named, never ignored and
/// never quietly taken for the new one (a setting written for the old meaning is checked by its author).</summary>
public static class RenamedKeys
{
    static readonly Dictionary<string, string> NewName = new(StringComparer.OrdinalIgnoreCase)
    {
        // One name for the sequence limit in every layer: EngineOptions.MaxSequenceLength, the engine grain's stats.
        ["Engine:MaxContext"] = "Engine:MaxSequenceLength",
    };

    /// <summary>The new name of <paramref name="key"/> ("Section:Key", without the TreePO root), or null.</summary>
    public static string? Of(string key) => NewName.GetValueOrDefault(key);
}
