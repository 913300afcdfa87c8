using TreePO.Core.Protocol;

namespace TreePO.Core.Tests.Protocol;

public sealed class SeedMixTests
{
    [Fact]
    public void Same_parts_same_seed_across_calls()
    {
        Assert.Equal(SeedMix.Derive(7, "q1", 3, "root/1-0"), SeedMix.Derive(7, "q1", 3, "root/1-0"));
    }

    [Fact]
    public void Values_are_pinned_so_runs_reproduce_across_processes()
    {
        // Pinned (computed independently with a Python transcription of SplitMix64 + FNV-1a): a change here
        // silently changes every seeded run, so it must be deliberate.
        Assert.Equal(0x6e789e6aa1b965f4UL, SeedMix.Derive(0));
        Assert.Equal(0x39c3cb9838c2c751UL, SeedMix.Derive(7, "q1", 3, "root/1-0"));
    }

    [Fact]
    public void Any_change_of_a_part_or_its_order_changes_the_seed()
    {
        var seeds = new HashSet<ulong>
        {
            SeedMix.Derive(1), SeedMix.Derive(2), SeedMix.Derive(1, "a"), SeedMix.Derive(1, "b"),
            SeedMix.Derive(1, "a", "b"), SeedMix.Derive(1, "b", "a"), SeedMix.Derive(1, 0), SeedMix.Derive(1, 1),
            SeedMix.Derive(1, "ab"), SeedMix.Derive(1, 0, 0),
        };
        Assert.Equal(10, seeds.Count);
    }

    [Fact]
    public void Derived_seeds_are_spread_over_all_bits()
    {
        int ones = 0;
        for (int i = 0; i < 1000; i++) ones += System.Numerics.BitOperations.PopCount(SeedMix.Derive(42, i));
        Assert.InRange(ones / 1000.0, 30, 34);
    }
}
