using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Tests.Native;

/// <summary>
/// The arithmetic that model threads use keeps its Scalars alive through the native call. The same loop written with
/// operators (<c>(x + y) * 0.5</c>) fails here within seconds with libtorch's "toFloat at c10/core/Scalar.h" error: a
/// thread forcing collections finalizes the operators' temporary Scalars mid-call.
/// </summary>
public sealed class TensorArithmeticTests
{
    [Fact]
    public void Results_match_the_operators()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var x = tensor(new float[] { 1, 2, 3, 4 });
        var y = tensor(new float[] { 0.5f, -1, 2, 8 });
        Assert.Equal(new float[] { 1.5f, 1, 5, 12 }, x.Plus(y).data<float>().ToArray());
        Assert.Equal(new float[] { 0.5f, 3, 1, -4 }, x.Minus(y).data<float>().ToArray());
        Assert.Equal(new float[] { 3, 4, 5, 6 }, x.Plus(2).data<float>().ToArray());
        Assert.Equal(new float[] { 0.5f, 1, 1.5f, 2 }, x.Times(0.5).data<float>().ToArray());
        Assert.Equal(new float[] { 0.25f, 0.5f, 0.75f, 1 }, x.DividedBy(4).data<float>().ToArray());
        Assert.Equal(new[] { false, true, true, true }, x.AtLeast(2).data<bool>().ToArray());
        Assert.Equal(new float[] { 9, 2, 9, 4 }, x.FilledWhere(tensor(new[] { true, false, true, false }), 9).data<float>().ToArray());
        Assert.Equal(new float[] { 1, 2, 2, 2 }, x.ClampedAbove(2).data<float>().ToArray());
        Assert.Equal(new float[] { 2.5f, 2.5f, 3, 4 }, x.ClampedBelow(2.5).data<float>().ToArray());
        Assert.Equal(new long[] { 3, 5, 7 }, TensorArithmetic.Range(3, 9, 2).data<long>().ToArray());
    }

    [Fact]
    public void Survives_collections_on_another_thread()
    {
        TorchRuntime.EnsureLoaded();
        var error = CollectionPressure.OnThreads(2, worker =>
        {
            using var x = ones(4);
            using var y = ones(4);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(4))
            {
                using var scope = NewDisposeScope();
                for (int i = 0; i < 100; i++)
                {
                    var z = x.Plus(y).Times(0.5).Minus(y).Plus(1.0).DividedBy(2.0);
                    _ = z.FilledWhere(z.AtLeast(0.5), 0).ClampedAbove(1);
                    _ = TensorArithmetic.Range(0, 8);
                }
            }
        });
        Assert.Null(error);
    }
}
