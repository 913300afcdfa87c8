using System.Reflection;
using Spectre.Console.Cli;
using TreePO.Hosting.Options;

namespace TreePO.Client;

/// <summary>
/// Refuses a mistyped flag before Spectre parses the command line, naming it and the nearest valid flag of the
/// command ("--widht" -> "--width"); Spectre alone says only "Unknown option". The options-tree overrides
/// (--section.key=value) are taken out before this and checked against the tree's keys when bound.
/// </summary>
public static class UnknownOptions
{
    /// <summary>The error for the first unknown option of <paramref name="args"/> (command name first), or null.
    /// <paramref name="app"/> names the program in the hint; <paramref name="optionKeys"/>: the command takes
    /// options-tree keys, so a flag with no flag near it may be a key.</summary>
    public static string? Check(IReadOnlyList<string> args, IReadOnlyDictionary<string, Type> settingsOf, string app = "treepo", bool optionKeys = true)
    {
        if (args.Count == 0 || !settingsOf.TryGetValue(args[0], out var settings)) return null;
        var longNames = new List<string> { "help", "version" };
        var shortNames = new List<string> { "h", "v" };
        foreach (var p in settings.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            if (p.GetCustomAttribute<CommandOptionAttribute>() is { } o)
            {
                longNames.AddRange(o.LongNames);
                shortNames.AddRange(o.ShortNames);
            }
        foreach (string arg in args.Skip(1))
        {
            if (arg == "--") break;
            if (arg.StartsWith("--", StringComparison.Ordinal) && arg.Length > 2)
            {
                string name = arg[2..].Split('=', 2)[0];
                if (longNames.Contains(name, StringComparer.Ordinal)) continue;
                string? near = NearestName.Of(name, longNames);
                string hint = near is not null ? $"; did you mean '--{near}'?"
                    : optionKeys && NearestKey(name) is { } key ? $"; did you mean the options-tree key '--{key.ToLowerInvariant().Replace(':', '.')}=VALUE'?" : "";
                return $"Unknown option '{name}' for '{args[0]}'{hint} (see {app} {args[0]} --help)";
            }
            if (arg.Length == 2 && arg[0] == '-' && char.IsLetter(arg[1]) && !shortNames.Contains(arg[1..], StringComparer.Ordinal))
                return $"Unknown option '{arg[1..]}' for '{args[0]}' (see {app} {args[0]} --help)";
        }
        return null;
    }

    /// <summary>The options-tree key whose last part is nearest to <paramref name="name"/> ("widht" -> Tree:Width), for
    /// a command that takes the key as an override rather than a flag.</summary>
    static string? NearestKey(string name)
    {
        var keys = OptionKeys.Of(new TreePOOptions()).Select(k => k.Key).ToList();
        var leaves = keys.Select(k => k[(k.LastIndexOf(':') + 1)..].ToLowerInvariant()).ToList();
        string? leaf = NearestName.Of(name.Replace("-", "").ToLowerInvariant(), leaves.Distinct());
        return leaf is null ? null : keys[leaves.IndexOf(leaf)];
    }
}
