using TreePO.Core.Protocol;
using TreePO.Engine.Native;
using TreePO.Engine.Sampling;
using static TorchSharp.torch;

namespace TreePO.Engine.Tests.Sampling;

/// <summary>The host draw against libtorch's (<see cref="TokenSampler"/> with <c>host: false</c>): the same tokens for the
/// same uniforms (but where a uniform falls within rounding of a CDF boundary), log-probs within 1e-5, greedy rows'
/// argmax, and top-k / top-p rows left to libtorch.</summary>
public sealed class HostSamplerTests
{
    public HostSamplerTests() => TorchRuntime.EnsureLoaded();

    [Theory]
    [InlineData(398, 1.0f)]
    [InlineData(398, 0.7f)]
    [InlineData(301, 1.3f)]     // a vocabulary that leaves a scalar tail
    [InlineData(50, 0f)]        // greedy
    public void Tokens_and_log_probs_equal_libtorchs(int vocab, float temperature)
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(11);
        int n = 64;
        var logits = randn([n, vocab], generator: gen).Times(4);
        var rng = new Random(5);
        var sampling = new SamplingParams(temperature);
        // Rows read in a shuffled order, some twice (two branches of one fork draw from the same logits).
        var rows = Enumerable.Range(0, n + 8).Select(i => new SampleRow(i < n ? (i * 37) % n : i - n, sampling, rng.NextDouble())).ToArray();
        Assert.True(HostSampler.Serves(logits, rows));

        var (hostTokens, hostLogProbs) = TokenSampler.Sample(logits, rows);
        var (libTokens, libLogProbs) = TokenSampler.Sample(logits, rows, host: false);

        int differ = 0;
        for (int i = 0; i < rows.Length; i++)
        {
            if (hostTokens[i] != libTokens[i])
            {
                Assert.True(NearBoundary(logits[rows[i].LogitRow], temperature, rows[i].Uniform), $"row {i}: {hostTokens[i]} against {libTokens[i]}");
                differ++;
                continue;
            }
            Assert.True(Math.Abs(hostLogProbs[i] - libLogProbs[i]) <= 1e-5f, $"row {i}: log-prob {hostLogProbs[i]} against {libLogProbs[i]}");
        }
        Assert.True(differ <= 1, $"{differ} rows drew another token");
    }

    [Fact]
    public void Rows_with_top_k_or_top_p_are_drawn_by_libtorch()
    {
        using var scope = NewDisposeScope();
        var logits = randn([4, 100], generator: new Generator(3));
        SampleRow Row(int i, SamplingParams p) => new(i, p, 0.25 * i + 0.1);
        SampleRow[] topP = [Row(0, new(1f)), Row(1, new(1f, TopP: 0.9f))];
        SampleRow[] topK = [Row(2, new(1f, TopK: 5)), Row(3, new(1f))];
        SampleRow[] wholeVocab = [Row(0, new(1f, TopK: 100))];
        Assert.False(HostSampler.Serves(logits, topP));
        Assert.False(HostSampler.Serves(logits, topK));
        Assert.True(HostSampler.Serves(logits, wholeVocab));
        Assert.False(HostSampler.Serves(logits.to(ScalarType.Float64), wholeVocab));
        foreach (var rows in new[] { topP, topK })
        {
            var host = TokenSampler.Sample(logits, rows);
            var lib = TokenSampler.Sample(logits, rows, host: false);
            Assert.Equal(lib.Tokens, host.Tokens);
            Assert.Equal(lib.LogProbs, host.LogProbs);
        }
    }

    [Fact]
    public void A_row_past_the_logits_is_refused()
    {
        using var scope = NewDisposeScope();
        var logits = zeros([2, 10]);
        var e = Assert.Throws<ArgumentException>(() => HostSampler.Sample(logits, [new SampleRow(2, new SamplingParams(), 0.5)]));
        Assert.Contains("logits row 2 of 2", e.Message);
    }

    // Whether u falls within 1e-5 (relative) of a boundary of the row's CDF, computed in double precision.
    static bool NearBoundary(Tensor row, float temperature, double u)
    {
        if (temperature <= 0) return false;
        double[] z = [.. row.data<float>().Select(x => (double)x / temperature)];
        double max = z.Max(), total = z.Sum(x => Math.Exp(x - max)), running = 0;
        foreach (double x in z)
        {
            running += Math.Exp(x - max) / total;
            if (Math.Abs(running - u) <= 1e-5) return true;
        }
        return false;
    }
}
