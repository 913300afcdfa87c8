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
    /// <summary>The error for the first unknown option of <paramref name="args"/> (command name first), or null.</summary>
    public static string? Check(IReadOnlyList<string> args, IReadOnlyDictionary<string, Type> settingsOf)
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
                return $"Unknown option '{name}' for '{args[0]}'" + (near is null ? "" : $"; did you mean '--{near}'?") +
                    $" (see treepo {args[0]} --help)";
            }
            if (arg.Length == 2 && arg[0] == '-' && char.IsLetter(arg[1]) && !shortNames.Contains(arg[1..], StringComparer.Ordinal))
                return $"Unknown option '{arg[1..]}' for '{args[0]}' (see treepo {args[0]} --help)";
        }
        return null;
    }
}
