using TreePO.Engine.Native;
using TreePO.Engine.Training;
using static TorchSharp.torch;

namespace TreePO.Engine.Tests.Training;

public sealed class PolicyLossTests
{
    static readonly PolicyLossOptions Options = new();

    public PolicyLossTests() => TorchRuntime.EnsureLoaded();

    // One token with ratio r = exp(logp - old) and advantage a; returns (loss, d loss / d logp).
    static (double Loss, double Grad, PolicyLossStats Stats) One(double ratio, double advantage)
    {
        using var scope = NewDisposeScope();
        var logp = tensor(new[] { (float)Math.Log(ratio) }, requires_grad: true);
        var old = zeros(1);
        var loss = PolicyLoss.TokenSum(logp, old, tensor(new[] { (float)advantage }), ones(1), Options, out var stats);
        loss.backward();
        return (loss.item<float>(), logp.grad!.item<float>(), stats);
    }

    [Fact]
    public void Positive_advantage_inside_the_trust_region_is_the_plain_ratio_term()
    {
        var (loss, grad, stats) = One(1.1, 2.0);
        Assert.Equal(-2.0 * 1.1, loss, 5);
        Assert.Equal(-2.0 * 1.1, grad, 4);    // d(-A e^x)/dx = -A r
        Assert.Equal(0, stats.ClipFraction);
    }

    [Fact]
    public void Positive_advantage_above_one_plus_eps_high_is_clipped_with_no_gradient()
    {
        var (loss, grad, stats) = One(1.5, 2.0);
        Assert.Equal(-2.0 * 1.28, loss, 5);
        Assert.Equal(0, grad, 6);
        Assert.Equal(1, stats.ClipFraction);
    }

    [Fact]
    public void Positive_advantage_below_one_minus_eps_low_keeps_the_unclipped_term()
    {
        var (loss, grad, _) = One(0.5, 2.0);
        Assert.Equal(-2.0 * 0.5, loss, 5);
        Assert.Equal(-2.0 * 0.5, grad, 4);
    }

    [Fact]
    public void Negative_advantage_below_one_minus_eps_low_is_clipped()
    {
        var (loss, grad, stats) = One(0.5, -1.0);
        Assert.Equal(1.0 * 0.8, loss, 5);
        Assert.Equal(0, grad, 6);
        Assert.Equal(1, stats.ClipFraction);
    }

    [Fact]
    public void Negative_advantage_above_one_plus_eps_high_keeps_the_unclipped_term_below_the_dual_clip()
    {
        var (loss, grad, stats) = One(3.0, -1.0);
        Assert.Equal(3.0, loss, 4);
        Assert.Equal(3.0, grad, 3);
        Assert.Equal(0, stats.DualClipFraction);
    }

    [Fact]
    public void Negative_advantage_with_an_exploded_ratio_is_bounded_by_the_dual_clip()
    {
        var (loss, grad, stats) = One(20.0, -1.5);
        Assert.Equal(1.5 * 10, loss, 4);
        Assert.Equal(0, grad, 6);
        Assert.Equal(1, stats.DualClipFraction);
    }

    [Fact]
    public void Masked_tokens_contribute_nothing_and_the_sum_adds_the_rest()
    {
        using var scope = NewDisposeScope();
        var logp = tensor(new float[] { 0, 0, 5 }, requires_grad: true);
        var loss = PolicyLoss.TokenSum(logp, zeros(3), tensor(new float[] { 1, -2, 100 }), tensor(new float[] { 1, 1, 0 }),
            Options, out var stats);
        Assert.Equal(-1 + 2, loss.item<float>(), 5);
        Assert.Equal(2, stats.Tokens);
        Assert.Equal(1.0, stats.RatioMean, 5);
        loss.backward();
        Assert.Equal(0, logp.grad![2].item<float>());
    }
}
