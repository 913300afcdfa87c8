using TreePO.Hosting.Options;

namespace TreePO.Hosting.Options;

/// <summary>
/// The options-tree overrides of the command line (--tree.width=4, --Engine:Devices=2). Spectre.Console.Cli rejects
/// such names ("Invalid long option name"), so Program takes them out before Spectre parses and commands read them
/// here, to hand to <see cref="TreePOConfiguration.Load(string[], string?)"/>.
/// </summary>
public static class OptionOverrides
{
    static string[] overrides = [];

    public static IReadOnlyList<string> Captured => overrides;

    /// <summary>Keeps the overrides and returns the rest of the command line for Spectre.</summary>
    public static string[] Capture(string[] args)
    {
        overrides = [.. args.Where(IsOverride)];
        return [.. args.Where(a => !IsOverride(a))];
    }

    static bool IsOverride(string arg) => TreePOConfiguration.SplitOverrides([arg]).Overrides.Count > 0;
}
