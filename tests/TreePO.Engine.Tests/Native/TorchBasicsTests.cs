using TorchSharp;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Tests.Native;

public sealed class TorchBasicsTests
{
    public TorchBasicsTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Matmul_matches_hand_values()
    {
        using var scope = NewDisposeScope();
        var a = tensor(new float[] { 1, 2, 3, 4, 5, 6 }).reshape(2, 3);
        var b = tensor(new float[] { 7, 8, 9, 10, 11, 12 }).reshape(3, 2);
        float[] c = a.matmul(b).data<float>().ToArray();
        // [1 2 3; 4 5 6] x [7 8; 9 10; 11 12] = [58 64; 139 154]
        Assert.Equal(new float[] { 58, 64, 139, 154 }, c);
    }

    [Fact]
    public void Scaled_dot_product_attention_matches_hand_values()
    {
        using var scope = NewDisposeScope();
        // One head, two queries, two keys, head_dim 2; scale 1/sqrt(2).
        var q = tensor(new float[] { 1, 0, 0, 1 }).reshape(1, 1, 2, 2);
        var k = tensor(new float[] { 1, 0, 0, 2 }).reshape(1, 1, 2, 2);
        var v = tensor(new float[] { 1, 2, 3, 4 }).reshape(1, 1, 2, 2);
        float[] got = nn.functional.scaled_dot_product_attention(q, k, v).data<float>().ToArray();

        double s = 1 / Math.Sqrt(2);
        // query 0: scores (1, 0) * s; query 1: scores (0, 2) * s
        double w0 = Math.Exp(1 * s) / (Math.Exp(1 * s) + Math.Exp(0));
        double w1 = Math.Exp(0) / (Math.Exp(0) + Math.Exp(2 * s));
        double[] expected =
        {
            w0 * 1 + (1 - w0) * 3, w0 * 2 + (1 - w0) * 4,
            w1 * 1 + (1 - w1) * 3, w1 * 2 + (1 - w1) * 4,
        };
        for (int i = 0; i < 4; i++) Assert.Equal(expected[i], got[i], 5);

        // With a boolean mask that hides key 1 from query 0, query 0 sees only value 0.
        var mask = tensor(new[] { true, false, true, true }).reshape(1, 1, 2, 2);
        float[] masked = nn.functional.scaled_dot_product_attention(q, k, v, mask).data<float>().ToArray();
        Assert.Equal(1f, masked[0], 5);
        Assert.Equal(2f, masked[1], 5);
    }
}
