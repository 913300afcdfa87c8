using TreePO.Core.Trees;
using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Cli;
using TreePO.Bench.Common;
using TreePO.Core.Protocol;
using TreePO.Engine;
using TreePO.Engine.Kv;
using TreePO.Engine.Model;
using TorchSharp;
using TreePO.Engine.Native;
using TreePO.Engine.Sampling;
using static TorchSharp.torch;

namespace TreePO.Bench;

/// <summary>
/// `bench engine`: for each model shape (random weights), the cached decode step at several batch sizes with the same
/// context length, next to the same step's matrix products alone (measured in the same process) and the machine's
/// roofline (measured in the same run: a large square GEMM's rate and a large matrix-vector product's bandwidth; a
/// decode step can go no faster than max(its matmul FLOPs / GEMM rate, its weight bytes / bandwidth)); a least-squares
/// line through step time against batch gives the fixed cost of a step and the cost per sequence. Also prefill rate,
/// fork copy time and KV bytes per token. Options: --steps N (timed decode steps per batch size, default 8),
/// --batches 1,4,16,64,256, --context 512 (capped by a shape's max_position_embeddings), --shapes
/// builtin,small,qwen2.5-0.5b (builtin = the built-in model's shape), --vocab N (override the 0.5B vocabulary),
/// --threads N (default all cores: the benchmark measures the model at a given thread count, not the engine's automatic choice),
/// --device cpu | cuda[:N] (on a GPU: the roofline's GEMM is 8192 square, and the share of each batch's decode time the
/// GPU is busy is read from nvidia-smi), --out engine.json.
/// </summary>
public sealed class EngineBenchmark : AsyncCommand<EngineBenchmark.Settings>
{
    public sealed class Settings : BenchSettings
    {
        [CommandOption("--steps <N>"), Description("Timed decode steps per batch size (default 8).")] public int Steps { get; init; } = 8;
        [CommandOption("--batches <LIST>"), Description("Batch sizes (default 1,4,16,64,256).")] public string Batches { get; init; } = "1,4,16,64,256";
        [CommandOption("--context <N>"), Description("Context length, capped by a shape's max_position_embeddings (default 512).")] public int Context { get; init; } = 512;
        [CommandOption("--shapes <LIST>"), Description("Model shapes: builtin, small, qwen2.5-0.5b (default all three).")] public string Shapes { get; init; } = "builtin,small,qwen2.5-0.5b";
        [CommandOption("--vocab <N>"), Description("Vocabulary of the qwen2.5-0.5b shape (default its own).")] public int? Vocab { get; init; }
        [CommandOption("--threads <N>"), Description("Torch threads (default 0: all cores).")] public int Threads { get; init; }
        [CommandOption("--device <NAME>"), Description("cpu (default), cuda or cuda:N: where the model, cache and roofline run.")] public string Device { get; init; } = "cpu";
        [CommandOption("--dtype <TYPE>"), Description("float32 (default) or bfloat16: the weights, activations, K/V and the roofline's GEMM and bytes.")] public string DType { get; init; } = "float32";
        [CommandOption("--out <FILE>")] public string Out { get; init; } = "engine.json";

        protected override void Check(List<string> problems)
        {
            AtLeast(problems, "--steps", Steps, 1);
            AtLeast(problems, "--context", Context, 1);
            IntList("--batches", Batches, 1, problems);
            if (Vocab is { } vocab) AtLeast(problems, "--vocab", vocab, 1);
            AtLeast(problems, "--threads", Threads, 0);
            if (DeviceName.Problem(Device, "--device") is { } device) problems.Add(device);
            if (EngineOptions.ElementTypeOf(DType) is null) problems.Add($"--dtype: '{DType}' is not float32 or bfloat16");
        }
    }

    public override Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken) =>
        RunAsync(new Options(settings.Steps, BenchSettings.IntList("--batches", settings.Batches), settings.Context, settings.Shapes.Split(','), settings.Vocab,
            settings.Threads, settings.Out, settings.Device,
            EngineOptions.ElementTypeOf(settings.DType)!.Value));

    sealed record Row(string Shape, int Batch, int Context, double StepMs, double DecodeTokensPerSecond,
        double MatmulMs, double MatmulTokensPerSecond, double Ratio, double RooflineMs, double RooflineFraction, string Bound, double? GpuBusy);

    sealed record ShapeResult(string Shape, Qwen2Config Config, long Parameters, long KvBytesPerToken, double PrefillTokensPerSecond,
        double ForkCopyMsPerChild, int ForkCopyTokens, List<Row> Decode, double FixedMs, double PerSequenceMs);

    /// <summary>The machine, measured: fp32 GEMM rate and the bandwidth of reading a large weight matrix.</summary>
    sealed record Hardware(double GemmGflops, double MatVecGBps, double CopyGBps);

    static Task<int> RunAsync(Options opts)
    {
        TorchRuntime.EnsureLoaded();
        set_num_threads(opts.Threads > 0 ? opts.Threads : Environment.ProcessorCount);
        var dev = BenchDevice.Open(opts.Device);   // stops with the reason when the device is not there: no CPU stand-in
        AnsiConsole.MarkupLine($"engine benchmark: {get_num_threads()} threads, context {opts.Context}, {opts.Steps} timed steps per batch size, {Name(opts.DType)} on {dev}");
        using var busy = dev.type == DeviceType.CUDA ? GpuBusyMeter.Start(dev.index < 0 ? 0 : dev.index) : null;
        if (dev.type == DeviceType.CUDA)
            AnsiConsole.MarkupLine(busy is null ? "GPU busy share: not measured (no nvidia-smi on the PATH)" : "GPU busy share: nvidia-smi's utilization.gpu sampled every 100 ms over 2 s of decode steps per batch");

        // Every shape's config first: a bad shape or a --steps no shape has room for stops before anything is measured.
        var shapes = new List<(string Shape, Qwen2Config Config)>();
        foreach (string shape in opts.Shapes)
        {
            var config = shape switch
            {
                "builtin" => Qwen2Config.Load(Path.Combine(TreePO.Hosting.Models.ModelFolder.Resolve(null), "config.json")),
                "qwen2.5-0.5b" => Qwen2Config.Qwen25_0_5B with { VocabSize = opts.Vocab ?? Qwen2Config.Qwen25_0_5B.VocabSize },
                // A small model of the kind the built-in model is (its final shape is decided by `treepo pretrain`).
                "small" => new Qwen2Config
                {
                    VocabSize = 8192, HiddenSize = 256, IntermediateSize = 1024, NumHiddenLayers = 4, NumAttentionHeads = 4,
                    NumKeyValueHeads = 2, MaxPositionEmbeddings = 4096, TieWordEmbeddings = true,
                },
                _ => null,
            };
            if (config is null)
            {
                AnsiConsole.MarkupLine($"[red]unknown shape '{Markup.Escape(shape)}'[/] (builtin, small, qwen2.5-0.5b)");
                return Task.FromResult(1);
            }
            if (NoRoomForContext(shape, config, opts.Steps) is { } problem)
            {
                AnsiConsole.MarkupLine($"[red]{Markup.Escape(problem)}[/]");
                return Task.FromResult(2);
            }
            shapes.Add((shape, config));
        }

        var hw = MeasureHardware(dev, opts.DType);
        AnsiConsole.MarkupLine($"machine: GEMM {hw.GemmGflops:F1} GFLOP/s ({HardwareGemmOn(dev)} x {HardwareGemmOn(dev)} {Name(opts.DType)}), matrix-vector {hw.MatVecGBps:F1} GB/s ({ElementSize(opts.DType) * 64} MiB of weights), copy {hw.CopyGBps:F1} GB/s");
        var results = shapes.Select(x => RunShape(x.Shape, x.Config, opts, hw, dev, busy)).ToList();

        var table = new Table().AddColumns("shape", "batch", "step ms", "decode tok/s", "matmuls ms", "matmuls / step",
            "roofline ms", "step / roofline", "bound");
        if (busy is not null) table.AddColumn("GPU busy");
        foreach (var s in results)
            foreach (var r in s.Decode)
            {
                string[] cells = [s.Shape, r.Batch.ToString(), r.StepMs.ToString("F2"), r.DecodeTokensPerSecond.ToString("F1"),
                    r.MatmulMs.ToString("F2"), r.Ratio.ToString("P0"), r.RooflineMs.ToString("F3"), r.RooflineFraction.ToString("P1"), r.Bound];
                table.AddRow(busy is null ? cells : [.. cells, r.GpuBusy is { } b ? b.ToString("P0") : "-"]);
            }
        AnsiConsole.Write(table);
        var other = new Table().AddColumns("shape", "parameters", "fixed ms / step", "ms / sequence", "prefill tok/s",
            "fork copy ms / child", "KV bytes / token");
        foreach (var s in results)
            other.AddRow(s.Shape, s.Parameters.ToString("N0"), s.FixedMs.ToString("F2"), s.PerSequenceMs.ToString("F3"),
                s.PrefillTokensPerSecond.ToString("F1"), $"{s.ForkCopyMsPerChild:F2} ({s.ForkCopyTokens} tokens)", s.KvBytesPerToken.ToString("N0"));
        AnsiConsole.Write(other);

        var json = new
        {
            threads = get_num_threads(),
            device = dev.ToString(),
            dtype = Name(opts.DType),
            context = opts.Context,
            steps = opts.Steps,
            machine = new { gemm_gflops = hw.GemmGflops, matvec_gb_per_s = hw.MatVecGBps, copy_gb_per_s = hw.CopyGBps },
            shapes = results.Select(s => new
            {
                shape = s.Shape,
                vocab = s.Config.VocabSize, hidden = s.Config.HiddenSize, layers = s.Config.NumHiddenLayers,
                heads = s.Config.NumAttentionHeads, kv_heads = s.Config.NumKeyValueHeads, intermediate = s.Config.IntermediateSize,
                parameters = s.Parameters,
                kv_bytes_per_token = s.KvBytesPerToken,
                prefill_tokens_per_s = s.PrefillTokensPerSecond,
                fork_copy_ms_per_child = s.ForkCopyMsPerChild,
                fork_copy_tokens = s.ForkCopyTokens,
                fixed_ms_per_step = s.FixedMs,
                ms_per_sequence = s.PerSequenceMs,
                decode = s.Decode.Select(r => new
                {
                    batch = r.Batch, context = r.Context, step_ms = r.StepMs, decode_tokens_per_s = r.DecodeTokensPerSecond,
                    matmul_ms = r.MatmulMs, matmul_tokens_per_s = r.MatmulTokensPerSecond, ratio = r.Ratio,
                    roofline_ms = r.RooflineMs, roofline_fraction = r.RooflineFraction, bound = r.Bound, gpu_busy = r.GpuBusy,
                }),
            }),
        };
        File.WriteAllText(opts.Out, JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }));
        AnsiConsole.MarkupLine($"wrote {Markup.Escape(Path.GetFullPath(opts.Out))}");
        return Task.FromResult(0);
    }

    /// <summary>Every timed step adds a position to the context (and two more are kept free), so the steps must leave
    /// a shape room for at least one context token; null when they do, else what to change.</summary>
    public static string? NoRoomForContext(string shape, Qwen2Config config, int steps) =>
        config.MaxPositionEmbeddings - steps - 2 >= 1 ? null
            : $"--steps {steps} leaves no room for a context in {shape} (max_position_embeddings {config.MaxPositionEmbeddings}): " +
              $"at most {config.MaxPositionEmbeddings - 3} steps";

    static ShapeResult RunShape(string shape, Qwen2Config config, Options opts, Hardware hw, Device dev, GpuBusyMeter? busy)
    {
        AnsiConsole.MarkupLine($"[bold]{shape}[/]: building random weights ...");
        using var model = new Qwen2Model(config, dev, opts.DType);
        model.Randomize(1234);
        long parameters = model.parameters().Sum(p => p.NumberOfElements);
        int maxBatch = opts.Batches.Max();
        int contextLength = Math.Min(opts.Context, config.MaxPositionEmbeddings - opts.Steps - 2);
        if (contextLength < opts.Context)
            AnsiConsole.MarkupLine($"  context {contextLength} (max_position_embeddings {config.MaxPositionEmbeddings})");
        using var cache = new KvCache(config, maxBatch, contextLength + opts.Steps + 2, dev, dtype: opts.DType);
        using var noGrad = no_grad();
        var rng = new Random(5);
        int[] context = Enumerable.Range(0, contextLength).Select(_ => rng.Next(config.VocabSize)).ToArray();

        // Prefill one context in the engine's default chunks (a first, untimed pass warms the allocator and the pages).
        const int Chunk = 256;
        double PrefillSeconds(int slot)
        {
            var watch = Stopwatch.StartNew();
            for (int s = 0; s < context.Length; s += Chunk)
            {
                using var scope = NewDisposeScope();
                int n = Math.Min(Chunk, context.Length - s);
                model.Step(cache, [new StepItem(slot, s, context[s..(s + n)])]);
            }
            BenchDevice.Synchronize(dev);
            return watch.Elapsed.TotalSeconds;
        }
        PrefillSeconds(maxBatch > 1 ? 1 : 0);
        double prefillRate = context.Length / PrefillSeconds(0);
        AnsiConsole.MarkupLine($"  prefill: {prefillRate:F1} tokens/s");

        // Fork: the context into every other slot; the first round touches the pages, the median of three is reported.
        var forkTimes = new List<double>();
        for (int round = 0; round < 4 && maxBatch > 1; round++)
        {
            var watch = Stopwatch.StartNew();
            for (int slot = 1; slot < maxBatch; slot++) cache.CopyPrefix(0, slot, context.Length);
            cache.Flush();   // copies are queued until the next read: time them, not their queueing
            BenchDevice.Synchronize(dev);
            if (round > 0) forkTimes.Add(watch.Elapsed.TotalMilliseconds / (maxBatch - 1));
        }
        double forkMs = forkTimes.Count > 0 ? Median(forkTimes) : 0;

        var rows = new List<Row>();
        var weights = model.MatmulWeights.ToList();
        long weightElements = weights.Sum(w => w.NumberOfElements);
        var products = model.StepMatrices.ToList();
        foreach (int batch in opts.Batches)
        {
            double step = TimeDecode(model, cache, batch, contextLength, opts.Steps, config.VocabSize);
            double matmul = TimeMatmuls(products, batch, opts.Steps, dev, opts.DType);
            double? gpuBusy = busy?.Measure(() => TimeDecode(model, cache, batch, contextLength, opts.Steps, config.VocabSize), TimeSpan.FromSeconds(2));
            // The roofline of the step's matrix products: every weight read once, 2 FLOPs per weight and sequence.
            double compute = 2.0 * weightElements * batch / (hw.GemmGflops * 1e9);
            double memory = (double)ElementSize(opts.DType) * weightElements / (hw.MatVecGBps * 1e9);
            double roof = Math.Max(compute, memory);
            var row = new Row(shape, batch, contextLength, step * 1000, batch / step, matmul * 1000, batch / matmul, matmul / step,
                roof * 1000, roof / step, compute >= memory ? "compute" : "bandwidth", gpuBusy);
            rows.Add(row);
            AnsiConsole.MarkupLine($"  batch {batch}: step {row.StepMs:F2} ms ({row.DecodeTokensPerSecond:F1} tok/s), matmuls alone {row.MatmulMs:F2} ms, " +
                $"roofline {row.RooflineMs:F3} ms ({row.Bound}): {row.RooflineFraction:P1} of it" + (gpuBusy is { } g ? $", GPU busy {g:P0}" : ""));
        }
        var (fixedMs, perSequenceMs) = Line(rows.Select(r => ((double)r.Batch, r.StepMs)).ToList());
        AnsiConsole.MarkupLine($"  step time ~ {fixedMs:F2} ms fixed + {perSequenceMs:F3} ms per sequence (least squares over the batches)");
        return new ShapeResult(shape, config, parameters, config.KvBytesPerToken(opts.DType), prefillRate, forkMs, context.Length, rows, fixedMs, perSequenceMs);
    }

    /// <summary>Intercept and slope of the least-squares line through the points (the intercept alone with one point).</summary>
    static (double Intercept, double Slope) Line(List<(double X, double Y)> points)
    {
        if (points.Count < 2) return (points.Count == 1 ? points[0].Y : 0, 0);
        double mx = points.Average(p => p.X), my = points.Average(p => p.Y);
        double sxx = points.Sum(p => (p.X - mx) * (p.X - mx)), sxy = points.Sum(p => (p.X - mx) * (p.Y - my));
        double slope = sxx == 0 ? 0 : sxy / sxx;
        return (my - slope * mx, slope);
    }

    /// <summary>Medians of a few repetitions after a warm-up: fp32 GEMM of 2048 x 2048 matrices; a 8192 x 8192 weight
    /// matrix times a vector (how a decode step at batch 1 reads its weights); a 256 MiB copy (read + write).</summary>
    static int ElementSize(ScalarType t) => t == ScalarType.BFloat16 ? 2 : 4;

    static Hardware MeasureHardware(Device dev, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        double Time(Action action, int reps = 5)
        {
            action();
            BenchDevice.Synchronize(dev);
            var times = new List<double>();
            for (int i = 0; i < reps; i++)
            {
                var watch = Stopwatch.StartNew();
                action();
                BenchDevice.Synchronize(dev);
                times.Add(watch.Elapsed.TotalSeconds);
            }
            return Median(times);
        }
        int n = HardwareGemmOn(dev);
        const int M = 8192;
        var a = randn(n, n, dtype, dev);
        var b = randn(n, n, dtype, dev);
        double gemm = Time(() => { using var c = a.matmul(b); });
        var w = randn(M, M, dtype, dev);
        var x = randn(M, dtype, dev);
        double matvec = Time(() => { using var y = w.matmul(x); });
        var src = randn(64L << 20, device: dev);
        var dst = empty(64L << 20, device: dev);
        double copy = Time(() => dst.copy_(src));
        return new Hardware(2.0 * n * n * n / gemm / 1e9, (double)ElementSize(dtype) * M * M / matvec / 1e9, 2.0 * 4 * (64L << 20) / copy / 1e9);
    }

    /// <summary>The square GEMM that gives the machine's matrix rate: 2048 saturates a CPU; a GPU needs 8192 to pass
    /// its launch overhead by far.</summary>
    const int HardwareGemm = 2048;
    static int HardwareGemmOn(Device dev) => dev.type == DeviceType.CUDA ? 8192 : HardwareGemm;

    /// <summary>Median seconds per decode step (forward over the cache, then sampling) of <paramref name="batch"/>
    /// sequences of equal length, after one warm-up step.</summary>
    static double TimeDecode(Qwen2Model model, KvCache cache, int batch, int context, int steps, int vocab)
    {
        var sampling = new SamplingParams(1.0f);
        var rngs = Enumerable.Range(0, batch).Select(i => new SeededRandom(SeedMix.Derive(1, i))).ToArray();
        int[] tokens = Enumerable.Range(0, batch).Select(i => (i * 7919) % vocab).ToArray();
        var times = new List<double>();
        for (int s = 0; s <= steps; s++)
        {
            var watch = Stopwatch.StartNew();
            using var scope = NewDisposeScope();
            var items = Enumerable.Range(0, batch).Select(i => new StepItem(i, context + s, [tokens[i]])).ToArray();
            var logits = model.Step(cache, items);
            var rows = Enumerable.Range(0, batch).Select(i => new SampleRow(i, sampling, rngs[i].NextDouble())).ToArray();
            tokens = TokenSampler.Sample(logits, rows).Tokens;
            if (s > 0) times.Add(watch.Elapsed.TotalSeconds);
        }
        return Median(times);
    }

    /// <summary>Seconds per step of the decode step's matrix products alone (<see cref="StepMatrix"/>, as the step makes
    /// them): each times a <c>[batch, in]</c> input, nothing else.</summary>
    static double TimeMatmuls(List<StepMatrix> products, int batch, int steps, Device dev, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var inputs = new Dictionary<long, Tensor>();
        foreach (var p in products)
            if (!inputs.ContainsKey(p.InFeatures)) inputs[p.InFeatures] = randn(batch, p.InFeatures, dtype, dev);
        var times = new List<double>();
        for (int s = 0; s <= steps; s++)
        {
            var watch = Stopwatch.StartNew();
            using var inner = NewDisposeScope();
            foreach (var p in products) p.Forward(inputs[p.InFeatures]);
            BenchDevice.Synchronize(dev);
            if (s > 0) times.Add(watch.Elapsed.TotalSeconds);
        }
        return Median(times);
    }

    /// <summary>Medians, not means: the machine is shared and a noisy neighbour inflates single steps.</summary>
    static double Median(List<double> xs)
    {
        var sorted = xs.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    sealed record Options(int Steps, int[] Batches, int Context, string[] Shapes, int? Vocab, int Threads, string Out, string Device, ScalarType DType);

    static string Name(ScalarType t) => t == ScalarType.BFloat16 ? "bf16" : "fp32";
}
