using TreePO.Testing;
using TorchSharp;
using TorchSharp.Modules;
using TreePO.Engine.Native;
using TreePO.Engine.Training;
using static TorchSharp.torch;

namespace TreePO.Engine.Tests.Training;

/// <summary>
/// The project's AdamW gives TorchSharp's numbers (with weight decay and a learning rate changed every step), resumes
/// from its saved state as if never stopped, refuses a file TorchSharp's optimiser wrote, and keeps its Scalars alive
/// while another thread forces collections.
/// </summary>
public sealed class AdamWOptimizerTests
{
    public AdamWOptimizerTests() => TorchRuntime.EnsureLoaded();

    /// <summary><c>tanh(x · scale + shift)</c> element-wise: no matrix product, whose CPU kernels may round
    /// differently from one allocation to the next, so two runs of the same steps give the same bits and the
    /// comparisons test the optimiser alone.</summary>
    sealed class Model : nn.Module<Tensor, Tensor>
    {
        readonly Parameter scale;
        readonly Parameter shift;

        public Model(ulong seed, int width = 6) : base("elementwise")
        {
            scale = nn.Parameter(zeros(4, width));
            shift = nn.Parameter(zeros(width));
            RegisterComponents();
            PolicyTrainerTests.Initialize(this, seed);
        }

        public override Tensor forward(Tensor x) => (x * scale).Plus(shift).tanh();
    }

    static readonly float[] Inputs = Enumerable.Range(0, 4 * 6).Select(i => (float)Math.Sin(i * 0.7)).ToArray();

    static double Rate(int step) => 1e-2 * (1 + step % 4) / 2;

    /// <summary>Squared output as the loss, its gradients in the parameters (no Scalar made on the way).</summary>
    static void Backward(Model m)
    {
        using var scope = NewDisposeScope();
        var y = m.forward(tensor(Inputs).view(4, 6));
        (y * y).mean().backward();
    }

    static void Steps(Model m, AdamWOptimizer opt, int from, int to)
    {
        for (int s = from; s < to; s++)
        {
            opt.ZeroGrad();
            Backward(m);
            nn.utils.clip_grad_norm_(m.parameters(), 1.0);
            opt.LearningRate = Rate(s);
            opt.Step();
        }
    }

    static void AssertClose(Model expected, Model actual, double relative)
    {
        foreach (var ((name, p), (_, q)) in expected.named_parameters().Zip(actual.named_parameters()))
        {
            // Relative to the tensor's largest element: an element that the updates drove near zero keeps the
            // absolute rounding of the others (the host pass fuses multiply-adds where libtorch's kernels may not).
            float[] a = p.data<float>().ToArray(), b = q.data<float>().ToArray();
            double scale = a.Max(x => Math.Abs((double)x));
            for (int i = 0; i < a.Length; i++)
                Assert.True(Math.Abs(a[i] - b[i]) <= relative * scale,
                    $"{name}[{i}]: expected {a[i]:R}, got {b[i]:R}");
        }
    }

    [Theory]
    [InlineData(0.9, 0.95, 0.1)]
    [InlineData(0.8, 0.999, 0.0)]
    public void Matches_TorchSharp_AdamW(double beta1, double beta2, double weightDecay)
    {
        var reference = new Model(3);
        var ours = new Model(3);
        using var theirs = new AdamW(reference.parameters(), Rate(0), beta1, beta2, 1e-8, weightDecay);
        using var opt = new AdamWOptimizer(ours.named_parameters(), Rate(0), beta1, beta2, 1e-8, weightDecay);
        for (int s = 0; s < 8; s++)
        {
            theirs.zero_grad();
            Backward(reference);
            nn.utils.clip_grad_norm_(reference.parameters(), 1.0);
            foreach (var g in theirs.ParamGroups) g.LearningRate = Rate(s);
            theirs.step();
        }
        Steps(ours, opt, 0, 8);
        AssertClose(reference, ours, 1e-6);
        // The updates moved the parameters: the comparison is not between two untouched copies.
        Assert.True(TestModels.MaxAbsDiff(new Model(3).named_parameters().First().parameter, ours.named_parameters().First().parameter) > 1e-3);
    }

    [Theory]
    [InlineData(1, 0.0)]
    [InlineData(1037, 0.1)]
    public void The_host_pass_matches_the_tensor_arithmetic(int size, double weightDecay)
    {
        // A size that is no multiple of the pass's eight lanes, so both its vector loop and its tail run.
        using var scope = NewDisposeScope();
        var rng = new Random(size);
        Tensor Random(double scale) => tensor(Enumerable.Range(0, size).Select(_ => (float)((rng.NextDouble() - 0.5) * scale)).ToArray());
        Tensor p = Random(2), g = Random(0.1), m = Random(0.01), v = Random(0.001).abs();
        Tensor p2 = p.clone(), m2 = m.clone(), v2 = v.clone();
        double lr = 3e-3, beta1 = 0.9, beta2 = 0.95, eps = 1e-8;
        long step = 5;
        double c1 = 1 - Math.Pow(beta1, step), c2 = 1 - Math.Pow(beta2, step);

        Assert.True(HostAdamW.Serves(p, g, m, v));
        HostAdamW.Step(p, g, m, v, (float)(1 - lr * weightDecay), (float)beta1, (float)(1 - beta1), (float)beta2, (float)(1 - beta2),
            (float)Math.Sqrt(c2), (float)eps, (float)(-(lr / c1)));

        p2.mul_(1 - lr * weightDecay);
        m2.mul_(beta1).add_(g, 1 - beta1);
        v2.mul_(beta2).addcmul_(g, g, 1 - beta2);
        p2.addcdiv_(m2, v2.sqrt().div(Math.Sqrt(c2)).add_(eps), -(lr / c1));
        foreach (var (ours, theirs) in new[] { (p, p2), (m, m2), (v, v2) })
        {
            float[] a = ours.data<float>().ToArray(), b = theirs.data<float>().ToArray();
            for (int i = 0; i < size; i++)
                Assert.True(Math.Abs(a[i] - b[i]) <= 1e-6 * Math.Abs(b[i]) + 1e-12, $"[{i}]: expected {b[i]:R}, got {a[i]:R}");
        }
        if (size > 1) Assert.False(HostAdamW.Serves(zeros(size, 2).select(1, 0), g, m, v));   // strided: the tensor path
    }

    [Fact]
    public void The_supervised_trainer_keeps_the_betas_TorchSharp_gave_it()
    {
        // SupervisedTrainer used optim.AdamW(parameters, lr, weight_decay: wd), the factory's default betas.
        var reference = new Model(4);
        var ours = new Model(4);
        using var theirs = optim.AdamW(reference.parameters(), Rate(0), weight_decay: 0.1);
        using var opt = new AdamWOptimizer(ours.named_parameters(), Rate(0), SupervisedTrainer.Beta1, SupervisedTrainer.Beta2,
            weightDecay: 0.1);
        for (int s = 0; s < 6; s++)
        {
            theirs.zero_grad();
            Backward(reference);
            foreach (var g in theirs.ParamGroups) g.LearningRate = Rate(s);
            theirs.step();
            opt.ZeroGrad();
            Backward(ours);
            opt.LearningRate = Rate(s);
            opt.Step();
        }
        AssertClose(reference, ours, 1e-6);
    }

    [Fact]
    public void Saved_and_loaded_state_continues_as_an_uninterrupted_run()
    {
        var straight = new Model(5);
        using (var opt = new AdamWOptimizer(straight.named_parameters(), 0, 0.9, 0.95, weightDecay: 0.1))
            Steps(straight, opt, 0, 7);

        using var dir = new TempFolder("treepo-adamw-");
        string path = Path.Combine(dir, "optimizer.bin");
        var first = new Model(5);
        using (var opt = new AdamWOptimizer(first.named_parameters(), 0, 0.9, 0.95, weightDecay: 0.1))
        {
            Steps(first, opt, 0, 3);
            opt.Save(path);
        }
        var resumed = new Model(99);
        using (var _ = no_grad())
            foreach (var ((_, p), (_, q)) in first.named_parameters().Zip(resumed.named_parameters())) q.copy_(p);
        using (var opt = new AdamWOptimizer(resumed.named_parameters(), 0, 0.9, 0.95, weightDecay: 0.1))
        {
            opt.Load(path);
            Steps(resumed, opt, 3, 7);
        }
        AssertClose(straight, resumed, 0);

        // Without the loaded moments (fresh state, bias correction restarting) the continuation differs.
        var fresh = new Model(99);
        using (var _ = no_grad())
            foreach (var ((_, p), (_, q)) in first.named_parameters().Zip(fresh.named_parameters())) q.copy_(p);
        using (var opt = new AdamWOptimizer(fresh.named_parameters(), 0, 0.9, 0.95, weightDecay: 0.1))
            Steps(fresh, opt, 3, 7);
        Assert.True(TestModels.MaxAbsDiff(straight.named_parameters().First().parameter, fresh.named_parameters().First().parameter) > 1e-4);
    }

    [Fact]
    public void A_file_of_TorchSharps_optimiser_or_of_another_model_is_refused_naming_the_file()
    {
        using var dir = new TempFolder("treepo-adamw-");
        var m = new Model(6);
        string old = Path.Combine(dir, "optimizer.bin");
        using (var theirs = new AdamW(m.parameters(), 1e-3)) theirs.save_state_dict(old);
        using var opt = new AdamWOptimizer(m.named_parameters(), 1e-3);
        var e = Assert.Throws<InvalidDataException>(() => opt.Load(old));
        Assert.Contains(old, e.Message);
        Assert.Contains("TorchSharp", e.Message);

        var other = new Model(6, width: 5);
        string wrong = Path.Combine(dir, "other.bin");
        using (var o = new AdamWOptimizer(other.named_parameters(), 1e-3)) o.Save(wrong);
        e = Assert.Throws<InvalidDataException>(() => opt.Load(wrong));
        Assert.Contains(wrong, e.Message);
        Assert.Contains("exp_avg.scale", e.Message);

        string truncated = Path.Combine(dir, "truncated.bin");
        opt.Save(truncated);
        File.WriteAllBytes(truncated, File.ReadAllBytes(truncated)[..^4]);
        e = Assert.Throws<InvalidDataException>(() => opt.Load(truncated));
        Assert.Contains(truncated, e.Message);

        Assert.Throws<FileNotFoundException>(() => opt.Load(Path.Combine(dir, "missing.bin")));
    }

    /// <summary>Steps on two threads, each with its own model and optimiser, while a third forces collections: no
    /// error, and each thread's parameters equal a run of the same number of steps without the pressure (a Scalar
    /// freed mid-call could also give a silently wrong number).</summary>
    [Fact]
    public void Survives_collections_on_another_thread()
    {
        var models = new[] { new Model(10), new Model(11) };
        var counts = new int[2];
        var error = CollectionPressure.OnThreads(2, w =>
        {
            using var opt = new AdamWOptimizer(models[w].named_parameters(), 0, 0.9, 0.95, weightDecay: 0.1);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(4))
            {
                Steps(models[w], opt, counts[w], counts[w] + 10);
                counts[w] += 10;
            }
        });
        Assert.Null(error);

        for (int w = 0; w < 2; w++)
        {
            Assert.True(counts[w] >= 10, $"thread {w} made {counts[w]} steps");
            var quiet = new Model(10 + (ulong)w);
            using var opt = new AdamWOptimizer(quiet.named_parameters(), 0, 0.9, 0.95, weightDecay: 0.1);
            Steps(quiet, opt, 0, counts[w]);
            AssertClose(quiet, models[w], 0);
        }
    }
}
