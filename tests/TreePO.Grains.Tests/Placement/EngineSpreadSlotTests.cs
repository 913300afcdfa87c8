using TreePO.Grains.Placement;

namespace TreePO.Grains.Tests.Placement;

/// <summary>Where tree grains land: a batch of numbered queries fills every engine slot equally (a hash of each key
/// left the busiest slot with well over its share), the same key always lands on the same slot.</summary>
public sealed class EngineSpreadSlotTests
{
    [Fact]
    public void A_batch_of_numbered_queries_fills_every_slot_equally()
    {
        foreach (int slots in new[] { 2, 8, 32 })
        {
            var counts = new int[slots];
            for (int i = 0; i < 16 * slots; i++) counts[EngineSpreadPlacementDirector.SlotOf($"querytree/scale-8-4/arith-test-{i}", slots)]++;
            Assert.All(counts, c => Assert.Equal(16, c));
        }
    }

    [Fact]
    public void The_same_key_keeps_its_slot_and_other_keys_spread_by_hash()
    {
        Assert.Equal(EngineSpreadPlacementDirector.SlotOf("querytree/b/q-7", 8), EngineSpreadPlacementDirector.SlotOf("querytree/b/q-7", 8));
        var slots = Enumerable.Range(0, 64).Select(i => EngineSpreadPlacementDirector.SlotOf($"querytree/b/{(char)('a' + i % 26)}{i / 26}x", 4)).ToHashSet();
        Assert.Equal(4, slots.Count);
        // A number too long for a slot count is hashed whole.
        Assert.InRange(EngineSpreadPlacementDirector.SlotOf("querytree/b/12345678901234567890", 4), 0, 3);
    }
}
