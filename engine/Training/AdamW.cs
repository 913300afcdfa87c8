using System.Globalization;
using TorchSharp;
using TorchSharp.Modules;
using TreePO.Engine.Checkpoint;
using static TorchSharp.torch;

namespace TreePO.Engine.Training;

/// <summary>
/// AdamW with decoupled weight decay, the same arithmetic in the same order as PyTorch's and TorchSharp's
/// <c>optim.AdamW</c> (so the same numbers):
/// <c>p *= 1 - lr·wd; m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g²; p -= lr/(1-β1^t) · m / (√v/√(1-β2^t) + ε)</c>.
/// It exists because TorchSharp's <c>step</c> passes temporary Scalars (<c>mul_(1 - lr * wd)</c>,
/// <c>add_(grad, alpha: 1 - beta1)</c>) that a collection on another thread can finalize mid-call (engine/README.md,
/// <i>Scalars</i>); here every Scalar is a local held with <c>using</c> until libtorch returns. Per parameter: the
/// moments (detached from dispose scopes, freed with the optimiser) and a step count (a parameter without a gradient
/// is skipped, its count unchanged, as in PyTorch). An fp32 CPU parameter takes the same arithmetic in one pass over
/// host memory (<see cref="HostAdamW"/>). Call it from the thread that owns the model.
/// </summary>
public sealed class AdamWOptimizer : IDisposable
{
    /// <summary>The <c>optimizer</c> entry of a state file's metadata.</summary>
    public const string FormatName = "TreePO.AdamW";

    sealed class State(string name, Parameter parameter)
    {
        public readonly string Name = name;
        public readonly Parameter Parameter = parameter;
        public readonly Tensor ExpAvg = zeros_like(parameter).DetachFromDisposeScope();
        public readonly Tensor ExpAvgSq = zeros_like(parameter).DetachFromDisposeScope();
        public long Step;
    }

    readonly State[] states;
    readonly double beta1, beta2, eps, weightDecay;

    public AdamWOptimizer(IEnumerable<(string Name, Parameter Parameter)> parameters, double learningRate,
        double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0)
    {
        if (!(learningRate >= 0)) throw new ArgumentOutOfRangeException(nameof(learningRate), $"must be >= 0, got {learningRate}");
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), $"must be in [0, 1), got {beta1}");
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(beta2), $"must be in [0, 1), got {beta2}");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), $"must be >= 0, got {eps}");
        if (!(weightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(weightDecay), $"must be >= 0, got {weightDecay}");
        LearningRate = learningRate;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        using var _ = no_grad();
        var list = new List<State>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            foreach (var (name, p) in parameters)
            {
                if (!names.Add(name)) throw new ArgumentException($"parameter '{name}' given twice", nameof(parameters));
                list.Add(new State(name, p));
            }
        }
        catch
        {
            foreach (var s in list) Free(s);
            throw;
        }
        states = [.. list];
    }

    /// <summary>The rate of the next <see cref="Step"/> (the trainers set it before each one).</summary>
    public double LearningRate { get; set; }

    /// <summary>Zeroes the gradients that exist (as TorchSharp's <c>zero_grad</c>; none is set to undefined).</summary>
    public void ZeroGrad()
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        foreach (var s in states)
        {
            var grad = s.Parameter.grad;
            if (grad is not null && !HostAdamW.TryZero(grad)) grad.zero_();
        }
    }

    /// <summary>One update of every parameter that has a gradient.</summary>
    public void Step()
    {
        double lr = LearningRate;
        using var _ = no_grad();
        using var one = 1.0.ToScalar();
        using var decay = (1 - lr * weightDecay).ToScalar();
        using var b1 = beta1.ToScalar();
        using var b2 = beta2.ToScalar();
        using var oneMinusB1 = (1 - beta1).ToScalar();
        using var oneMinusB2 = (1 - beta2).ToScalar();
        using var epsilon = eps.ToScalar();
        foreach (var s in states)
        {
            using var perParameter = NewDisposeScope();   // this parameter's temporaries (sqrt(v), ...) go now
            var grad = s.Parameter.grad;
            if (grad is null) continue;
            s.Step++;
            double correction1 = 1 - Math.Pow(beta1, s.Step);
            double correction2 = 1 - Math.Pow(beta2, s.Step);
            if (HostAdamW.Serves(s.Parameter, grad, s.ExpAvg, s.ExpAvgSq))
            {
                HostAdamW.Step(s.Parameter, grad, s.ExpAvg, s.ExpAvgSq, (float)(1 - lr * weightDecay), (float)beta1, (float)(1 - beta1),
                    (float)beta2, (float)(1 - beta2), (float)Math.Sqrt(correction2), (float)eps, (float)(-(lr / correction1)));
                continue;
            }
            using var root2 = Math.Sqrt(correction2).ToScalar();
            using var stepSize = (-(lr / correction1)).ToScalar();

            s.Parameter.mul_(decay);
            s.ExpAvg.mul_(b1).add_(grad, oneMinusB1);
            s.ExpAvgSq.mul_(b2).addcmul_(grad, grad, oneMinusB2);
            var denom = s.ExpAvgSq.sqrt().div(root2).add_(epsilon, one);
            s.Parameter.addcdiv_(s.ExpAvg, denom, stepSize);
        }
    }

    /// <summary>Writes the state as safetensors: <c>exp_avg.NAME</c> and <c>exp_avg_sq.NAME</c> (fp32) for every
    /// parameter, its step count as metadata <c>step.NAME</c>, and <c>optimizer</c> = <see cref="FormatName"/>.
    /// The learning rate and the other settings are not saved: they come from the trainer's options.</summary>
    public void Save(string path)
    {
        var tensors = new List<KeyValuePair<string, Tensor>>();
        var metadata = new Dictionary<string, string> { ["optimizer"] = FormatName };
        foreach (var s in states)
        {
            tensors.Add(new("exp_avg." + s.Name, s.ExpAvg));
            tensors.Add(new("exp_avg_sq." + s.Name, s.ExpAvgSq));
            metadata["step." + s.Name] = s.Step.ToString(CultureInfo.InvariantCulture);
        }
        string tmp = path + ".tmp";
        SafetensorsWriter.Write(tmp, tensors, metadata);
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Replaces the state with the one <see cref="Save"/> wrote to <paramref name="path"/>, after checking
    /// that it names exactly this optimiser's parameters with their shapes (nothing changes when it does not).</summary>
    public void Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"optimiser state not found: {path}", path);
        using var stream = File.OpenRead(path);
        if (WrittenByTorchSharp(stream))
            throw new InvalidDataException($"{path}: optimiser state written by TorchSharp's AdamW, which the trainer no " +
                "longer uses; it cannot be loaded. Delete it (and its .steps file) to resume with fresh optimiser state.");
        stream.Position = 0;
        var header = SafetensorsHeader.Read(stream, path, out var metadata);
        long dataStart = stream.Position;
        if (!metadata.TryGetValue("optimizer", out var format) || format != FormatName)
            throw new InvalidDataException($"{path}: not a {FormatName} state file (metadata 'optimizer' is '{format}')");

        var steps = new long[states.Length];
        var expected = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < states.Length; i++)
        {
            var s = states[i];
            foreach (string key in new[] { "exp_avg." + s.Name, "exp_avg_sq." + s.Name })
            {
                expected.Add(key);
                if (!header.TryGetValue(key, out var e)) throw new InvalidDataException($"{path}: no tensor '{key}'");
                if (e.DType != "F32") throw new InvalidDataException($"{path}: '{key}' is {e.DType}, expected F32");
                if (!e.Shape.SequenceEqual(s.Parameter.shape))
                    throw new InvalidDataException($"{path}: '{key}' has shape [{string.Join(", ", e.Shape)}], the parameter [{string.Join(", ", s.Parameter.shape)}]");
                if (e.End - e.Begin != s.Parameter.NumberOfElements * sizeof(float))
                    throw new InvalidDataException($"{path}: '{key}' has {e.End - e.Begin} bytes for shape [{string.Join(", ", e.Shape)}]");
            }
            if (!metadata.TryGetValue("step." + s.Name, out var text)
                || !long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out steps[i]))
                throw new InvalidDataException($"{path}: metadata 'step.{s.Name}' is missing or not a count");
        }
        var extra = header.Keys.Where(k => !expected.Contains(k)).ToList();
        if (extra.Count > 0)
            throw new InvalidDataException($"{path}: tensors of no parameter of this model: {string.Join(", ", extra.Take(5))}");
        long end = header.Values.Select(e => e.End).DefaultIfEmpty(0).Max();
        if (stream.Length < dataStart + end)
            throw new InvalidDataException($"{path}: truncated ({stream.Length} bytes, the header describes {dataStart + end})");

        using var _ = no_grad();
        for (int i = 0; i < states.Length; i++)
        {
            var s = states[i];
            ReadInto(stream, dataStart, header["exp_avg." + s.Name], s.ExpAvg, path);
            ReadInto(stream, dataStart, header["exp_avg_sq." + s.Name], s.ExpAvgSq, path);
            s.Step = steps[i];
        }
    }

    // TorchSharp's save_state_dict starts with the optimiser's type name as a .NET string: length byte, "AdamW".
    static bool WrittenByTorchSharp(Stream stream)
    {
        Span<byte> head = stackalloc byte[6];
        return stream.ReadAtLeast(head, 6, throwOnEndOfStream: false) == 6 && head[0] == 5
            && head[1..].SequenceEqual("AdamW"u8);
    }

    static void ReadInto(Stream stream, long dataStart, SafetensorsEntry entry, Tensor target, string path)
    {
        using var scope = NewDisposeScope();
        stream.Position = dataStart + entry.Begin;
        var flat = target.view(-1);
        long total = flat.shape[0];
        long slice = Math.Min(total, TensorBytes.MaxSpanBytes / sizeof(float));
        if (total == 0) return;
        var buffer = TensorBytes.NewBuffer(slice, ScalarType.Float32);
        for (long start = 0; start < total; start += slice)
        {
            long n = Math.Min(slice, total - start);
            var part = buffer.narrow(0, 0, n);
            var bytes = TensorBytes.Writable(buffer)[..(int)(n * sizeof(float))];
            if (stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) < bytes.Length)
                throw new InvalidDataException($"{path}: truncated in '{entry.Name}'");
            flat.narrow(0, start, n).copy_(part);
        }
    }

    static void Free(State s)
    {
        s.ExpAvg.Dispose();
        s.ExpAvgSq.Dispose();
    }

    public void Dispose()
    {
        foreach (var s in states) Free(s);
    }
}
