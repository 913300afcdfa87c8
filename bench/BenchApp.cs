using Spectre.Console;
using Spectre.Console.Cli;
using TreePO.Bench.Common;
using TreePO.Client;
using TreePO.Hosting.Options;

namespace TreePO.Bench;

/// <summary>
/// The `bench` command line on Spectre.Console.Cli, as the client's: one command a benchmark, its options a settings
/// class, a mistyped option refused with the nearest name. To add a benchmark: a class
/// <c>XBenchmark : AsyncCommand&lt;XBenchmark.Settings&gt;</c> whose Settings derive <see cref="BenchSettings"/>
/// (implementing <see cref="ITakesOptionOverrides"/> when it reads the options tree), and one line in
/// <see cref="Commands"/>.
/// </summary>
public static class BenchApp
{
    /// <summary>The benchmarks: name, settings type, and how Spectre registers it.</summary>
    static readonly Registration[] Commands =
    [
        Command<EngineBenchmark>("engine", "Decode step against its matrix products and the machine's roofline, per model shape."),
        Command<ClusterBenchmark>("cluster", "One rollout workload through the grains and through TreeSampler directly."),
        Command<LoadBenchmark>("load", "Many concurrent trees against one starved engine: all finish, memory bounded."),
        Command<ScaleoutBenchmark>("scaleout", "One silo process against two: trajectories/s and their ratio."),
        Command<ScaleBenchmark>("scale", "Simulated engines at 1 to 32 over silo processes: efficiency, utilisation, spread, a killed silo."),
        Command<WeightSyncBenchmark>("weightsync", "An engine in another silo pulls a trainer's weights, by each path."),
        Command<SamplingBenchmark>("sampling", "Tree against sequential sampling on the same engine (the paper's section 4.1)."),
        Command<SweepBenchmark>("sweep", "Depth against segment length at a fixed budget, and width: tree against sequential."),
        Command<TrainingBenchmark>("training", "treepo train --algo treepo against --algo grpo: held-out accuracy against time."),
        Command<RewardBenchmark>("reward", "The answer-equivalence table through the reward and the legacy reward."),
        Command<AblationBenchmark>("ablation", "The paper's ablations: one training run per variant and seed."),
    ];

    /// <summary>The settings type of each benchmark, by name.</summary>
    public static IReadOnlyDictionary<string, Type> SettingsOf { get; } =
        Commands.ToDictionary(c => c.Name, c => c.Settings, StringComparer.OrdinalIgnoreCase);

    /// <summary>Runs the command line. <paramref name="console"/> takes every message of the parsing (tests give
    /// one); <paramref name="interceptor"/> sees the bound settings before the benchmark runs.</summary>
    public static Task<int> RunAsync(string[] args, IAnsiConsole? console = null, ICommandInterceptor? interceptor = null)
    {
        console ??= AnsiConsole.Console;
        string[] rest = SingleLetterOptions(OptionOverrides.Capture(args));   // --a.b=v overrides: Spectre rejects dotted names
        Type? settings = rest.Length > 0 ? SettingsOf.GetValueOrDefault(rest[0]) : null;
        bool takesOverrides = settings is not null && typeof(ITakesOptionOverrides).IsAssignableFrom(settings);
        string? problem = UnknownOptions.Check(rest, SettingsOf, "bench", optionKeys: takesOverrides)
            ?? (settings is not null ? OptionValues.Check(rest, settings) : null);
        if (problem is null && OptionOverrides.Captured.Count > 0 && settings is not null && !takesOverrides)
            problem = $"'{rest[0]}' takes no options-tree overrides ({string.Join(" ", OptionOverrides.Captured)}); " +
                $"those that do: {string.Join(", ", SettingsOf.Where(s => typeof(ITakesOptionOverrides).IsAssignableFrom(s.Value)).Select(s => s.Key))}";
        if (problem is not null)
        {
            console.MarkupLine($"[red]{Markup.Escape(problem)}[/]");
            return Task.FromResult(2);
        }
        var app = new CommandApp();
        app.Configure(config =>
        {
            config.SetApplicationName("bench");
            config.Settings.StrictParsing = true;   // a stray argument is refused, never ignored
            config.CaseSensitivity(CaseSensitivity.LongOptions);   // benchmark names in any case, as before
            config.ConfigureConsole(console);
            if (interceptor is not null) config.SetInterceptor(interceptor);
            foreach (var c in Commands) c.Add(config);
        });
        return app.RunAsync(rest);
    }

    /// <summary>`--w 16` as the hand parser took it: Spectre's long names have two letters at least, so a one-letter
    /// option is its short form (-w).</summary>
    static string[] SingleLetterOptions(string[] args) =>
        [.. args.Select(a => a.Length >= 3 && a.StartsWith("--", StringComparison.Ordinal) && char.IsLetter(a[2]) && (a.Length == 3 || a[3] == '=')
            ? a[1..] : a)];

    sealed record Registration(string Name, Type Settings, Action<IConfigurator> Add);

    static Registration Command<TCommand>(string name, string description) where TCommand : class, ICommand =>
        new(name, SettingsType(typeof(TCommand)), config => config.AddCommand<TCommand>(name).WithDescription(description));

    static Type SettingsType(Type command)
    {
        for (var t = command; t is not null; t = t.BaseType)
            if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(AsyncCommand<>)) return t.GetGenericArguments()[0];
        throw new InvalidOperationException($"{command.Name} is not an AsyncCommand<TSettings>");
    }
}
