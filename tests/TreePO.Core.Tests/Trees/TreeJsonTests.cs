using System.Text.Json;
using TreePO.Core.Advantage;
using TreePO.Core.Reward;
using TreePO.Core.Trees;
using static TreePO.Core.Tests.Trees.Trees;

namespace TreePO.Core.Tests.Trees;

public sealed class TreeJsonTests
{
    static async Task<SegmentTree> SampleTree()
    {
        var config = new TreeConfig { Width = 6, Depth = 4, SegmentLength = 3, InitDivergenceMax = 3 };
        var (tree, _) = await RunAsync(config, c => new SeededRandom(c.BranchSeed).NextDouble() < 0.3
            ? new Seg(c.Branch == 0 ? "\\boxed{2}" : "7", Eos: true, LogProb: -0.3f) : new Seg("", LogProb: -1.25f));
        tree.Score(MathReward.PlusMinusOne);
        TreeAdvantage.Compute([tree]);
        return tree;
    }

    [Fact]
    public async Task One_line_with_the_documented_fields()
    {
        SegmentTree tree = await SampleTree();
        string line = TreeJson.Write(tree);
        Assert.DoesNotContain('\n', line);
        JsonElement j = JsonDocument.Parse(line).RootElement;
        Assert.Equal("q1", j.GetProperty("query_id").GetString());
        Assert.Equal("2", j.GetProperty("answer").GetString());
        Assert.Equal(Prompt.Length, j.GetProperty("prompt_len").GetInt32());
        JsonElement config = j.GetProperty("config");
        Assert.Equal(6, config.GetProperty("width").GetInt32());
        Assert.Equal(4, config.GetProperty("depth").GetInt32());
        Assert.Equal(3, config.GetProperty("segment_len").GetInt32());
        Assert.Equal(2, config.GetProperty("branch").GetInt32());
        JsonElement root = j.GetProperty("nodes")[0];
        Assert.Equal(JsonValueKind.Null, root.GetProperty("parent").ValueKind);
        Assert.Equal(0, root.GetProperty("depth").GetInt32());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("finish").ValueKind);
        Assert.Equal(3, j.GetProperty("nodes")[1].GetProperty("policy_version").GetInt32());
        Assert.Contains(j.GetProperty("nodes")[1].GetProperty("finish").GetString(), new[] { "eos", "length" });
        JsonElement t = j.GetProperty("trajectories")[0];
        foreach (string field in new[] { "leaf", "path", "reward", "correct", "raw_advantage", "advantage" })
            Assert.True(t.TryGetProperty(field, out _), field);
        Assert.Equal(root.GetProperty("id").GetString(), t.GetProperty("path")[0].GetString());
        Assert.Equal(t.GetProperty("leaf").GetString(), t.GetProperty("path")[t.GetProperty("path").GetArrayLength() - 1].GetString());
        Assert.Equal(6, j.GetProperty("metrics").GetProperty("trajectories").GetInt32());
    }

    [Fact]
    public async Task Round_trips_exactly()
    {
        SegmentTree tree = await SampleTree();
        string line = TreeJson.Write(tree);
        SegmentTree back = TreeJson.Read(line);
        Assert.Equal(line, TreeJson.Write(back));
        Assert.Equal(tree.Config, back.Config);
        Assert.Equal(tree.Nodes.Select(n => n.ResponseLength), back.Nodes.Select(n => n.ResponseLength));
        Assert.Equal(tree.Trajectories.Select(t => t.Advantage), back.Trajectories.Select(t => t.Advantage));

        var writer = new StringWriter();
        await TreeJson.WriteAllAsync(writer, [tree, back]);
        Assert.Equal(2, TreeJson.ReadAll(new StringReader(writer.ToString())).Count());
    }

    /// <summary>The segment estimator's per-node values travel with their trajectory (and only then: the other
    /// estimators' trajectories have no such field); a list that does not match the path is refused by name.</summary>
    [Fact]
    public async Task Segment_advantages_round_trip_and_a_wrong_count_is_refused()
    {
        SegmentTree plain = await SampleTree();
        Assert.DoesNotContain("segment_advantages", TreeJson.Write(plain));

        SegmentTree tree = await SampleTree();
        TreeAdvantage.Compute([tree], new AdvantageOptions { Estimator = AdvantageEstimator.Segment });
        string line = TreeJson.Write(tree);
        var back = TreeJson.Read(line);
        Assert.Equal(line, TreeJson.Write(back));
        foreach (var (t, b) in tree.Trajectories.Zip(back.Trajectories))
        {
            Assert.Equal(t.Path.Count - 1, b.SegmentAdvantages!.Length);
            Assert.Equal(t.SegmentAdvantages, b.SegmentAdvantages);
        }

        var first = tree.Trajectories[0];
        string values = string.Join(",", first.SegmentAdvantages!.Select(v => JsonSerializer.Serialize(v)));
        string bad = line.Replace($"\"segment_advantages\":[{values}]", $"\"segment_advantages\":[{values},0.5]");
        Assert.NotEqual(line, bad);
        var e = Assert.Throws<FormatException>(() => TreeJson.Read(bad, 3));
        Assert.Contains("line 3", e.Message);
        Assert.Contains($"segment_advantages holds {first.SegmentAdvantages!.Length + 1} values for {first.Path.Count - 1} response nodes", e.Message);
    }

    [Fact]
    public async Task Bad_lines_name_the_line_and_the_problem()
    {
        SegmentTree tree = await SampleTree();
        string good = TreeJson.Write(tree);
        var e1 = Assert.Throws<FormatException>(() => TreeJson.ReadAll(new StringReader(good + "\n{oops\n")).ToList());
        Assert.Contains("line 2", e1.Message);
        var e2 = Assert.Throws<FormatException>(() => TreeJson.Read(good.Replace("\"prompt_len\":" + Prompt.Length, "\"prompt_len\":99"), 5));
        Assert.Contains("line 5", e2.Message);
        Assert.Contains("prompt_len", e2.Message);
        var e3 = Assert.Throws<FormatException>(() => TreeJson.Read(good.Replace("\"stop\":\"eos\"", "\"stop\":\"weird\"")));
        Assert.Contains("weird", e3.Message);
    }
}
