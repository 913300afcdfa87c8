using System.Text.Json;
using TreePO.Core.Trees;
using static TreePO.Core.Tests.Trees.Trees;

namespace TreePO.Core.Tests.Trees;

public sealed class ResumeTests
{
    static readonly TreeConfig Config = new() { Width = 6, Depth = 4, SegmentLength = 3, InitDivergenceMax = 4 };
    static Seg Script(Call c) => new SeededRandom(c.BranchSeed).NextDouble() < 0.35 ? new Seg("e", Eos: true) : new Seg("");

    [Fact]
    public async Task A_tree_resumed_from_any_round_ends_exactly_like_an_uninterrupted_one()
    {
        var gen = new ScriptedGenerator(Prompt, Script);
        var snapshots = new List<string>();
        SegmentTree whole = await new TreeSampler(Config, gen, CharDecoder.Instance, CharDecoder.Eos).RunAsync(Query(), "r/q", 21, 3, null,
            (s, _) => { snapshots.Add(JsonSerializer.Serialize(s, TreeJson.Options)); return Task.CompletedTask; });
        Assert.Equal(whole.Stats.Rounds, snapshots.Count);
        Assert.True(snapshots.Count >= 3);

        foreach (string json in snapshots)
        {
            TreeSnapshot snap = JsonSerializer.Deserialize<TreeSnapshot>(json, TreeJson.Options)!;
            var gen2 = new ScriptedGenerator(Prompt, Script);
            gen2.Preload(snap);
            SegmentTree resumed = await new TreeSampler(Config, gen2, CharDecoder.Instance, CharDecoder.Eos).RunAsync(Query(), "r/q", 21, 3, snap, null);
            Assert.Empty(gen2.Errors);
            Assert.Equal(TreeJson.Write(whole), TreeJson.Write(resumed));
        }
        // The last snapshot has nothing pending: resuming from it only releases what is left.
        Assert.Empty(JsonSerializer.Deserialize<TreeSnapshot>(snapshots[^1], TreeJson.Options)!.Pending);
    }

    [Fact]
    public async Task A_snapshot_of_another_tree_is_refused()
    {
        TreeSnapshot? first = null;
        await new TreeSampler(Config, new ScriptedGenerator(Prompt, Script), CharDecoder.Instance, CharDecoder.Eos).RunAsync(Query(), "r/q", 21, 3, null,
            (s, _) => { first ??= s; return Task.CompletedTask; });
        var sampler = new TreeSampler(Config, new ScriptedGenerator(Prompt, Script), CharDecoder.Instance, CharDecoder.Eos);
        var e = await Assert.ThrowsAsync<ArgumentException>(() => sampler.RunAsync(Query(), "r/other", 21, 3, first, null));
        Assert.Contains("does not belong", e.Message);
    }
}
