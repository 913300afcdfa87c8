using System.Diagnostics;
using System.Reflection;
using Spectre.Console;

namespace TreePO.Bench.Common;

/// <summary>
/// The silo program that `scaleout` and `weightsync` start as separate processes: --silo PATH when given, else the
/// one built with these benchmarks (the bench project references the silo project, so `dotnet run --project bench`
/// builds both; the path is stamped into this assembly at build time), else that project built here and now.
/// </summary>
public static class SiloProgram
{
    static string? Stamped(string key) => typeof(SiloProgram).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .FirstOrDefault(a => a.Key == key)?.Value;

    /// <summary>The silo program's path, or null after printing why there is none.</summary>
    public static string? Locate(string given)
    {
        if (given.Length > 0)
        {
            if (File.Exists(given)) return Path.GetFullPath(given);
            AnsiConsole.MarkupLine($"[red]--silo {Markup.Escape(given)}: no such file (the silo program is treepo-silo.dll)[/]");
            return null;
        }
        string? program = Stamped("SiloProgram"), project = Stamped("SiloProject");
        if (program is not null && File.Exists(program)) return program;
        if (program is null || project is null || !File.Exists(project))
        {
            AnsiConsole.MarkupLine("[red]the silo program was not built with these benchmarks and its project is not here: give --silo PATH (treepo-silo.dll)[/]");
            return null;
        }
        // The build's own output is kept, and shown only if it fails.
        string configuration = new DirectoryInfo(Path.GetDirectoryName(program)!).Parent!.Name;
        AnsiConsole.MarkupLine(Markup.Escape($"building the silo program ({project}, {configuration}) ..."));
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string a in new[] { "build", project, "-c", configuration, "-nologo", "-v", "quiet" }) info.ArgumentList.Add(a);
        using var build = Process.Start(info)!;
        string log = build.StandardOutput.ReadToEnd();
        build.WaitForExit();
        if (build.ExitCode == 0 && File.Exists(program)) return program;
        Console.Error.WriteLine(log);
        AnsiConsole.MarkupLine(Markup.Escape($"building {project} failed (exit {build.ExitCode}); give --silo PATH (treepo-silo.dll)"));
        return null;
    }
}
