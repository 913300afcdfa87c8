using Spectre.Console;
using Spectre.Console.Cli;
using TreePO.Bench;
using TreePO.Bench.Common;
using TreePO.Hosting.Options;

namespace TreePO.Grains.Tests.Bench;

/// <summary>
/// `bench`'s command line: a mistyped option or a bad value is refused naming the option, and the defaults are those
/// docs/benchmarks.md states. Nothing is measured: a valid command line is stopped once its settings are bound. One
/// class, so its tests run one at a time: OptionOverrides holds the command line's overrides process-wide.
/// </summary>
public sealed class BenchArgumentsTests
{
    [Fact]
    public async Task A_mistyped_option_is_refused_with_the_nearest_name()
    {
        var run = await RunAsync("sampling", "--widht", "3");
        Assert.Equal(2, run.Code);
        Assert.Contains("Unknown option 'widht' for 'sampling'; did you mean '--width'?", run.Output);
        Assert.Null(run.Settings);

        run = await RunAsync("load", "--tres", "3");
        Assert.Contains("did you mean '--trees'?", run.Output);
    }

    [Fact]
    public async Task A_value_out_of_range_names_the_option()
    {
        var run = await RunAsync("training", "--steps", "0", "--seeds", "1,x");
        Assert.NotEqual(0, run.Code);
        Assert.Contains("--steps: must be at least 1, got 0", run.Output);
        Assert.Contains("--seeds: 'x' is not an integer", run.Output);
        Assert.Null(run.Settings);

        run = await RunAsync("weightsync", "--chunkmb", "65", "--paths", "socket,pigeon");
        Assert.Contains("--chunkmb: at most 64", run.Output);
        Assert.Contains("--paths: unknown path 'pigeon'", run.Output);

        run = await RunAsync("ablation", "--variants", "treepo,nope");
        Assert.Contains("--variants: unknown variant 'nope'", run.Output);

        run = await RunAsync("training", "--level", "6");
        Assert.Contains("--level must be 1 to 5, got 6", run.Output);
        run = await RunAsync("ablation", "--level", "0");
        Assert.Contains("--level must be 1 to 5, got 0", run.Output);

        run = await RunAsync("sampling", "--warmup", "5", "--warmup-max", "3");
        Assert.Contains("--warmup-max: must be at least --warmup (5), got 3", run.Output);

        run = await RunAsync("sweep", "--d", "0", "--depths", "");
        Assert.Contains("--d: must be at least 1, got 0", run.Output);
    }

    [Fact]
    public async Task Devices_dtypes_and_random_shapes_are_checked_by_name()
    {
        var run = await RunAsync("engine", "--device", "gpu0", "--dtype", "float16");
        Assert.NotEqual(0, run.Code);
        Assert.Contains("--device must be cpu, cuda or cuda:N (got 'gpu0')", run.Output);
        Assert.Contains("--dtype: 'float16' is not float32 or bfloat16", run.Output);

        run = await RunAsync("sampling", "--random-shape", "llama-7b", "--device", "tpu");
        Assert.Contains("--random-shape: 'llama-7b' is not one of qwen2.5-0.5b", run.Output);
        Assert.Contains("--device must be cpu, cuda or cuda:N (got 'tpu')", run.Output);

        run = await RunAsync("sampling", "--random-shape", "qwen2.5-0.5b", "--random-weights");
        Assert.Contains("--random-shape names its own model", run.Output);

        var engine = Assert.IsType<EngineBenchmark.Settings>((await RunAsync("engine", "--device", "cuda:1", "--dtype", "BFloat16")).Settings);
        Assert.Equal(("cuda:1", "BFloat16"), (engine.Device, engine.DType));
    }

    [Fact]
    public async Task A_value_that_is_not_a_number_names_the_option()
    {
        var run = await RunAsync("sampling", "--temperature", "hot");
        Assert.Equal(2, run.Code);
        Assert.Contains("--temperature: 'hot' is not a number", run.Output);

        run = await RunAsync("engine", "--steps=many");
        Assert.Contains("--steps: 'many' is not an integer", run.Output);
    }

    [Fact]
    public async Task Defaults_are_the_documented_ones()
    {
        // docs/benchmarks.md: 16 queries x w = 16, b = 2, d = 8 x l = 8, temperature 1; sampling 5 repetitions, sweep 4.
        var sampling = Assert.IsType<SamplingBenchmark.Settings>((await RunAsync("sampling")).Settings);
        Assert.Equal((16, 16, 2, 8, 8, 1.0, 1.0), (sampling.Queries, sampling.Width, sampling.Branch, sampling.Depth, sampling.SegmentLength,
            sampling.Temperature, sampling.TopP));
        Assert.Equal((5, 1, "sampling.json", "16,64,256", 1), (sampling.Reps, sampling.Warmup, sampling.Out, sampling.Concurrency, sampling.ConcurrencyReps));
        Assert.False(sampling.NoLowerBound);
        Assert.Equal(40, sampling.WarmupMax);

        var sweep = Assert.IsType<SweepBenchmark.Settings>((await RunAsync("sweep")).Settings);
        Assert.Equal((4, "sweep.json", "1,2,4,8,16,32", "2,4,8,16,32", "sweep.png"), (sweep.Reps, sweep.Out, sweep.Depths, sweep.Widths, sweep.Png));
        Assert.Equal((16, 16), (sweep.Queries, sweep.Width));

        var engine = Assert.IsType<EngineBenchmark.Settings>((await RunAsync("engine")).Settings);
        Assert.Equal((8, "1,4,16,64,256", 512, "builtin,small,qwen2.5-0.5b", "engine.json"), (engine.Steps, engine.Batches, engine.Context, engine.Shapes, engine.Out));

        var load = Assert.IsType<LoadBenchmark.Settings>((await RunAsync("load")).Settings);
        Assert.Equal((1000, 600, 512, "load.json"), (load.Trees, load.Timeout, load.OverheadMb, load.Out));

        // training's steps and model are treepo train's at the level: 100 on level 2, 30 on the deep level 5.
        var training = Assert.IsType<TrainingBenchmark.Settings>((await RunAsync("training")).Settings);
        Assert.Equal((null, null, 2, "training.json"), (training.Steps, training.Level, training.Chunks, training.Out));
        Assert.Equal(new RunOptions().Steps, TreePO.Hosting.Training.CommandOptions.ForTrain(training.Level).Run.Steps);
        Assert.Equal(30, TreePO.Hosting.Training.CommandOptions.ForTrain(5).Run.Steps);

        var weights = Assert.IsType<WeightSyncBenchmark.Settings>((await RunAsync("weightsync")).Settings);
        Assert.Equal((24, 3, 4, 16, "socket,chunks"), (weights.Layers, weights.Pulls, weights.Window, weights.ChunkMb, weights.Paths));
    }

    [Fact]
    public async Task One_letter_options_keep_their_old_spelling()
    {
        var run = await RunAsync("sampling", "--w", "4", "--d=3", "--l", "2", "-b", "3", "--top-k", "-1");
        var s = Assert.IsType<SamplingBenchmark.Settings>(run.Settings);
        Assert.Equal((4, 3, 2, 3, -1), (s.Width, s.Depth, s.SegmentLength, s.Branch, s.TopK));
    }

    [Fact]
    public async Task Options_tree_overrides_go_only_to_benchmarks_that_read_the_tree()
    {
        var run = await RunAsync("sampling", "--tree.width=3");
        Assert.Equal(2, run.Code);
        Assert.Contains("'sampling' takes no options-tree overrides (--tree.width=3)", run.Output);

        run = await RunAsync("load", "--tree.width=3", "--trees", "5");
        Assert.Equal(5, Assert.IsType<LoadBenchmark.Settings>(run.Settings).Trees);
        Assert.Equal(new[] { "--tree.width=3" }, OptionOverrides.Captured);
    }

    [Fact]
    public async Task An_unknown_benchmark_is_refused()
    {
        var run = await RunAsync("samplng");
        Assert.NotEqual(0, run.Code);
        Assert.Contains("Did you mean 'sampling'?", run.Output);
    }

    [Fact]
    public void Every_benchmark_class_is_a_registered_command()
    {
        var commands = typeof(BenchApp).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && typeof(ICommand).IsAssignableFrom(t)).Select(t => t.Name).Order().ToList();
        var registered = BenchApp.SettingsOf.Values.Select(s => s.DeclaringType!.Name).Order().ToList();
        Assert.Equal(commands, registered);
        Assert.All(BenchApp.SettingsOf.Values, s => Assert.True(typeof(BenchSettings).IsAssignableFrom(s), s.FullName));
    }

    sealed record Run(int Code, string Output, CommandSettings? Settings);

    [Fact]
    public void Engine_steps_that_leave_a_shape_no_context_are_refused_naming_the_most_it_takes()
    {
        // Checked for every shape before anything is measured (a shape's positions are known only from its config).
        var builtin = new TreePO.Engine.Model.Qwen2Config { MaxPositionEmbeddings = 256 };
        Assert.Null(EngineBenchmark.NoRoomForContext("builtin", builtin, 253));
        Assert.Equal("--steps 254 leaves no room for a context in builtin (max_position_embeddings 256): at most 253 steps",
            EngineBenchmark.NoRoomForContext("builtin", builtin, 254));
        Assert.Contains("--steps 3000", EngineBenchmark.NoRoomForContext("builtin", builtin, 3000));
    }

    static async Task<Run> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 400;   // whole lines, so that messages are found unbroken
        var stop = new StopWhenBound();
        int code = await BenchApp.RunAsync(args, console, stop);
        return new Run(code, output.ToString(), stop.Settings);
    }

    /// <summary>Takes the bound settings and stops the command before the benchmark runs, unless the settings are
    /// invalid (then Spectre reports them, as on the command line).</summary>
    sealed class StopWhenBound : ICommandInterceptor
    {
        public CommandSettings? Settings { get; private set; }

        public void Intercept(CommandContext context, CommandSettings settings)
        {
            if (settings is BenchSettings b && b.Problems().Count > 0) return;
            Settings = settings;
            throw new OperationCanceledException("bound; not measured in a test");
        }
    }
}
