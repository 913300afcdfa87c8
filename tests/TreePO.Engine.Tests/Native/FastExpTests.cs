using System.Runtime.Intrinsics;
using TreePO.Engine.Native;

namespace TreePO.Engine.Tests.Native;

/// <summary>The host passes' exponential against the exact one: within 1e-7 relative over the range it serves, and
/// finite, ordered values past both ends.</summary>
public sealed class FastExpTests
{
    [Fact]
    public void It_is_within_1e7_of_the_exact_exponential_over_its_range()
    {
        var rng = new Random(3);
        double worst = 0;
        for (int i = 0; i < 20000; i++)
        {
            var x = Vector256.Create([.. Enumerable.Range(0, 8).Select(_ => (float)(rng.NextDouble() * 175.3 - 87.3))]);
            var e = FastExp.Exp(x);
            for (int k = 0; k < 8; k++)
                worst = Math.Max(worst, Math.Abs(e[k] - Math.Exp(x[k])) / Math.Exp(x[k]));
        }
        // Zero and the points where the range reduction's integer changes.
        foreach (float x in new[] { 0f, 0.34657359f, -0.34657359f, 1f, -1f, 20.5f })
        {
            float e = FastExp.Exp(Vector256.Create(x))[0];
            worst = Math.Max(worst, Math.Abs(e - Math.Exp(x)) / Math.Exp(x));
        }
        Assert.True(worst <= 1e-7, $"max relative error {worst:E2}");
        Assert.Equal(1f, FastExp.Exp(Vector256<float>.Zero)[0]);
    }

    [Fact]
    public void Past_its_range_it_stays_finite_positive_and_ordered()
    {
        var low = FastExp.Exp(Vector256.Create(-1000f))[0];
        var high = FastExp.Exp(Vector256.Create(1000f))[0];
        Assert.True(low > 0 && low <= 1.2e-38f, $"exp(-1000) = {low}");
        Assert.True(float.IsFinite(high) && high >= 1.7e38f, $"exp(1000) = {high}");
        Assert.True(FastExp.Exp(Vector256.Create(-87f))[0] > low);
    }
}
