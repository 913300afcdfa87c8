using Spectre.Console;

namespace TreePO.Client;

/// <summary>
/// Output for a reader that is not a terminal (a file, a pipe, CI, nohup): no live displays, no control sequences, no
/// wrapping at the 80 columns Spectre assumes without a terminal; progress is one plain line per step. On a terminal
/// the live displays stay.
/// </summary>
public static class PlainOutput
{
    /// <summary>Standard output is not a terminal (or the terminal says it cannot redraw, TERM=dumb).</summary>
    public static bool IsPlain { get; } = Console.IsOutputRedirected || Environment.GetEnvironmentVariable("TERM") == "dumb";

    /// <summary>Widest line Spectre lays out when plain: long enough that no message or table row wraps.</summary>
    const int PlainWidth = 10_000;

    /// <summary>Called once at start: when plain, Spectre writes no escape sequences and wraps nothing.</summary>
    public static void Configure()
    {
        if (!IsPlain) return;
        var profile = AnsiConsole.Profile;
        profile.Width = PlainWidth;
        profile.Capabilities.Ansi = false;
        profile.Capabilities.Links = false;
        profile.Capabilities.Interactive = false;
        profile.Capabilities.ColorSystem = ColorSystem.NoColors;
    }

    /// <summary>One progress line, written whole.</summary>
    public static void Line(string text) => Console.Out.WriteLine(text);

    /// <summary>Whether a progress line is due after <paramref name="done"/> of <paramref name="total"/> items: every
    /// item up to 50, else about every 2 % and the last, so a large batch does not flood a log.</summary>
    public static bool Due(int done, int total) => total <= 50 || done >= total || done % Math.Max(1, total / 50) == 0;
}
