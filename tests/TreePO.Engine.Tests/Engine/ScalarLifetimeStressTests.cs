using TreePO.Core.Protocol;
using static TreePO.Engine.Tests.Engine.EngineFixture;

namespace TreePO.Engine.Tests.Engine;

/// <summary>
/// TorchSharp frees a <c>Scalar</c>'s native value in its finalizer, and an operation such as <c>a + b</c> (which is
/// <c>a.add(b, 1)</c>) or <c>x * 0.5</c> makes a temporary Scalar that nothing references once its handle is read:
/// a collection during the native call can free it mid-call, and libtorch then reads a garbage type tag ("Expected
/// false to be true ... toFloat at c10/core/Scalar.h"). Several engines stepping while another thread forces
/// collections and finalizers make that window wide; every step must still succeed.
/// </summary>
public sealed class ScalarLifetimeStressTests
{
    static readonly TimeSpan Duration = TimeSpan.FromSeconds(
        double.TryParse(Environment.GetEnvironmentVariable("TREEPO_STRESS_SECONDS"), out double s) ? s : 8);

    [Fact]
    public async Task Engines_step_while_collections_run_without_a_failed_step()
    {
        await using var a = Start(slots: 8);
        await using var b = Start(slots: 8);
        using (new CollectionPressure())
        {
            // Rounds until the time is up: the steps' methods are then optimised (tier 1), where an argument's
            // lifetime ends at its last use.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            for (int round = 0; clock.Elapsed < Duration; round++)
            {
                var work = new List<Task<SegmentResult>>();
                for (int i = 0; i < 16; i++)
                {
                    var prompt = TestModels.RandomTokens(8 + i % 5, 900 + round * 16 + i);
                    var engine = i % 2 == 0 ? a : b;
                    work.Add(engine.GenerateAsync(Request(prompt, branches: 4, maxTokens: 24, seed: (ulong)(round * 16 + i))));
                }
                await Task.WhenAll(work).WaitAsync(TimeSpan.FromSeconds(120));
            }
        }
        Assert.Equal(0, a.GetStats().RequestsFailed);
        Assert.Equal(0, b.GetStats().RequestsFailed);
    }
}
