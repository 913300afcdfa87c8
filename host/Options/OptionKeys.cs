using System.Globalization;
using System.Reflection;

namespace TreePO.Hosting.Options;

/// <summary>
/// Every key of the options tree with its value in an options object: the one source of the key lists of
/// `treepo train --help` and docs/configuration.md (a test fails when the docs differ).
/// </summary>
public static class OptionKeys
{
    /// <summary>(Key, Value) of every settable key, "Section:Key" paths, in declaration order.</summary>
    public static IReadOnlyList<(string Key, string Value)> Of(TreePOOptions options)
    {
        var keys = new List<(string, string)>();
        Walk(options, "", keys);
        return keys;
    }

    static void Walk(object target, string prefix, List<(string, string)> keys)
    {
        foreach (var p in target.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            object? value = p.GetValue(target);
            if (IsScalar(p.PropertyType)) keys.Add((prefix + p.Name, Format(value)));
            else if (value is not null) Walk(value, prefix + p.Name + ":", keys);
        }
    }

    static bool IsScalar(Type t) => t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(TimeSpan) || t == typeof(decimal);

    /// <summary>A value as the docs and the help show it: invariant, booleans in lower case, "" as empty.</summary>
    public static string Format(object? value) => value switch
    {
        null or "" => "empty",
        bool b => b ? "true" : "false",
        TimeSpan t => t.ToString("c", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>The help's list: one "  Key = value" line a key, and how to set them.</summary>
    public static string Help(TreePOOptions options) =>
        "Every options-tree key, with its default here (set one in appsettings.json, as TREEPO__SECTION__KEY, or as " +
        "--section.key=value; docs/configuration.md says what each means):" + Environment.NewLine +
        string.Join(Environment.NewLine, Of(options).Select(k => $"  {k.Key} = {k.Value}"));
}
