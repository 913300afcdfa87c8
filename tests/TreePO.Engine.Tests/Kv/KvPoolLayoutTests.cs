using TreePO.Engine.Kv;

namespace TreePO.Engine.Tests.Kv;

/// <summary>Where new branches go: a tree's paths at one depth side by side (one batched attention call for all of
/// them), new trees in the middle of the widest free run so that the trees on both sides have room to grow.</summary>
public sealed class KvPoolLayoutTests
{
    static List<KvSlot> Take(KvPool pool, string tree, int count)
    {
        var taken = pool.TakeFree(count, pool.LastSlotOf(tree));
        foreach (var s in taken)
        {
            s.Tree = tree;
            s.Writer = new object();
            s.Tokens.Add(1);
        }
        return taken;
    }

    [Fact]
    public void A_trees_branches_stay_side_by_side_and_new_trees_start_apart()
    {
        var pool = new KvPool(32, budgetBytes: 1 << 20, bytesPerToken: 1, new PrefixLedger());
        Assert.Equal([0, 1], Take(pool, "a", 2).Select(s => s.Index));
        // The widest run is [2, 32): the new tree starts in its middle.
        Assert.Equal([16, 17], Take(pool, "b", 2).Select(s => s.Index));
        // Each of a's two paths forks in two: the new branches follow a's last slot.
        Assert.Equal([2], Take(pool, "a", 1).Select(s => s.Index));
        Assert.Equal([3], Take(pool, "a", 1).Select(s => s.Index));
        Assert.Equal([18, 19], Take(pool, "b", 2).Select(s => s.Index));
        // A third tree takes the middle of [4, 16), the widest run left.
        Assert.Equal([9], Take(pool, "c", 1).Select(s => s.Index));
    }

    [Fact]
    public void Without_a_free_block_it_takes_what_is_free()
    {
        var pool = new KvPool(4, budgetBytes: 1 << 20, bytesPerToken: 1, new PrefixLedger());
        Take(pool, "a", 1);
        Take(pool, "b", 1);   // the middle of [1, 4): slot 2
        Assert.Equal([1, 3], Take(pool, "a", 2).Select(s => s.Index).Order());
    }
}
