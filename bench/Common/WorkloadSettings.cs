using System.ComponentModel;
using Spectre.Console.Cli;

namespace TreePO.Bench.Common;

/// <summary>The workload options that `sampling` and `sweep` share (the tree, the engine, the model, the queries);
/// each gives its own default repetitions and output file.</summary>
public abstract class WorkloadSettings : BenchSettings
{
    protected WorkloadSettings(int reps, string output)
    {
        Reps = reps;
        Out = output;
    }

    [CommandOption("--queries <N>"), Description("Built-in held-out queries (default 16).")] public int Queries { get; init; } = 16;
    [CommandOption("-w|--width <W>"), Description("Trajectories per query, w (default 16; --w as well).")] public int Width { get; init; } = 16;
    [CommandOption("-b|--branch <B>"), Description("Branches per fork, b (default 2; --b as well).")] public int Branch { get; init; } = 2;
    [CommandOption("-d|--depth <D>"), Description("Segments per trajectory, d (default 8; --d as well).")] public int Depth { get; init; } = 8;
    [CommandOption("-l|--segment-length <L>"), Description("Tokens per segment, l (default 8; --l as well).")] public int SegmentLength { get; init; } = 8;
    /// <summary>The first fork (Tree:InitDivergenceMin/Max): -1 keeps b; a max above b draws U{min..max} per query.</summary>
    [CommandOption("--init-div-min <N>"), Description("Least branches of the first fork (default -1: b).")] public int InitDivergenceMin { get; init; } = -1;
    [CommandOption("--init-div-max <N>"), Description("Most branches of the first fork (default -1: b).")] public int InitDivergenceMax { get; init; } = -1;
    [CommandOption("--reps <N>"), Description("Timed repetitions of each mode (sampling: 5; sweep: 4 per point).")] public int Reps { get; init; }
    [CommandOption("--warmup <N>"), Description("Untimed warm-up pairs (a tree and a sequential run) before timing: at least N (default 1), then more until the JIT has settled (0: none).")] public int Warmup { get; init; } = 1;
    [CommandOption("--warmup-max <N>"), Description("Most warm-up pairs while the JIT has not settled (default 40); the timed runs then start and say so.")] public int WarmupMax { get; init; } = 40;
    [CommandOption("--temperature <T>"), Description("Sampling temperature (default 1).")] public double Temperature { get; init; } = 1.0;
    [CommandOption("--top-p <P>"), Description("Nucleus sampling (default 1).")] public double TopP { get; init; } = 1.0;
    [CommandOption("--top-k <K>"), Description("Top-k sampling (default -1: off).")] public int TopK { get; init; } = -1;
    [CommandOption("--threads <N>"), Description("Engine threads (default 0: the engine's automatic choice, one thread for the built-in model).")] public int Threads { get; init; }
    [CommandOption("--slots <N>"), Description("Engine slots (default 0: queries x w).")] public int Slots { get; init; }
    [CommandOption("--prefill-chunk <N>"), Description("Prefill chunk in tokens (default 256).")] public int PrefillChunk { get; init; } = 256;
    [CommandOption("--kv-mb <N>"), Description("KV budget in MiB (default 512).")] public int KvMb { get; init; } = 512;
    [CommandOption("--seed <SEED>"), Description("Sampling seed (default 7).")] public int Seed { get; init; } = 7;
    [CommandOption("--task-seed <SEED>"), Description("Seed of the built-in task's held-out split (default 1).")] public int TaskSeed { get; init; } = 1;
    [CommandOption("--difficulty <N>"), Description("Built-in task level (default 2).")] public int Difficulty { get; init; } = 2;
    [CommandOption("--model <DIR>"), Description("Model folder (default: Model:Path, else the built-in model).")] public string Model { get; init; } = "";
    [CommandOption("--random-weights"), Description("A random-weights model of the built-in shape, said in every table.")] public bool RandomWeights { get; init; }
    [CommandOption("--random-shape <SHAPE>"), Description("Random weights of a larger shape (qwen2.5-0.5b) over the built-in tokenizer, no stop token: every response runs to d x l tokens; said in every table.")]
    public string RandomShape { get; init; } = "";
    [CommandOption("--device <NAME>"), Description("The engine's device: cpu (default), cuda or cuda:N.")] public string Device { get; init; } = "cpu";
    [CommandOption("--out <FILE>"), Description("The JSON file (sampling.json; sweep.json).")] public string Out { get; init; }

    protected override void Check(List<string> problems)
    {
        AtLeast(problems, "--queries", Queries, 1);
        AtLeast(problems, "--w", Width, 1);
        AtLeast(problems, "--b", Branch, 1);
        AtLeast(problems, "--d", Depth, 1);
        AtLeast(problems, "--l", SegmentLength, 1);
        AtLeast(problems, "--init-div-min", InitDivergenceMin, -1);
        AtLeast(problems, "--init-div-max", InitDivergenceMax, -1);
        AtLeast(problems, "--reps", Reps, 1);
        AtLeast(problems, "--warmup", Warmup, 0);
        if (WarmupMax < Warmup) problems.Add($"--warmup-max: must be at least --warmup ({Warmup}), got {WarmupMax}");
        AtLeast(problems, "--temperature", Temperature, 0);
        AtLeast(problems, "--top-p", TopP, 1e-6);
        AtLeast(problems, "--threads", Threads, 0);
        AtLeast(problems, "--slots", Slots, 0);
        AtLeast(problems, "--prefill-chunk", PrefillChunk, 1);
        AtLeast(problems, "--kv-mb", KvMb, 1);
        AtLeast(problems, "--seed", Seed, 0);
        AtLeast(problems, "--task-seed", TaskSeed, 0);
        AtLeast(problems, "--difficulty", Difficulty, 1);
        if (RandomShape.Length > 0 && !BenchModel.RandomShapes.Contains(RandomShape))
            problems.Add($"--random-shape: '{RandomShape}' is not one of {string.Join(", ", BenchModel.RandomShapes)}");
        if (RandomShape.Length > 0 && (RandomWeights || Model.Length > 0))
            problems.Add("--random-shape names its own model: give it without --random-weights and --model");
        if (TreePO.Engine.Native.DeviceName.Problem(Device, "--device") is { } device) problems.Add(device);
    }
}
