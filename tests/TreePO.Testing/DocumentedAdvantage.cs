using System.Text.Json.Nodes;

namespace TreePO.Testing;

/// <summary>
/// The advantages of an exported batch (trees.jsonl, runs/NAME/trees/step-N.jsonl) recomputed from the JSON alone by
/// the definition in docs/trees-format.md (<i>Advantages</i>, default options), written independently of the
/// project's estimators: rewards, each trajectory's path and response_len, nothing else.
/// </summary>
public static class DocumentedAdvantage
{
    /// <summary>One exported trajectory: what the file says and what the definition gives.</summary>
    public sealed record Row(string Tree, string Leaf, double Reward, int ResponseLen,
        double RawAdvantage, double Advantage, double ExpectedRaw, double ExpectedAdvantage);

    /// <summary>Every trajectory of <paramref name="lines"/> (one tree a line; the lines are the batch) with the
    /// advantages the definition of <paramref name="algo"/> ("treepo" or "grpo") gives.</summary>
    public static List<Row> Recompute(IEnumerable<string> lines, string algo)
    {
        var rows = new List<(string Tree, string Leaf, double R, int N, double Raw, double Adv, double ExpRaw)>();
        foreach (string line in lines.Where(l => !string.IsNullOrWhiteSpace(l)))
        {
            var tree = JsonNode.Parse(line)!.AsObject();
            string id = tree["tree_id"]!.GetValue<string>();
            var trajectories = tree["trajectories"]!.AsArray().Select(t => t!.AsObject()).ToList();
            double[] rewards = [.. trajectories.Select(t => t["reward"]!.GetValue<double>())];
            double[] expected = algo switch
            {
                "treepo" => TreeRaw(trajectories, rewards),
                "grpo" => Group(rewards),
                _ => throw new ArgumentException($"unknown algo {algo}"),
            };
            for (int i = 0; i < trajectories.Count; i++)
                rows.Add((id, trajectories[i]["leaf"]!.GetValue<string>(), rewards[i], trajectories[i]["response_len"]!.GetValue<int>(),
                    trajectories[i]["raw_advantage"]!.GetValue<double>(), trajectories[i]["advantage"]!.GetValue<double>(), expected[i]));
        }
        double[] final = algo == "treepo" ? Whiten(rows.Select(r => r.ExpRaw).ToArray(), rows.Select(r => r.N).ToArray())
            : [.. rows.Select(r => r.ExpRaw)];
        return [.. rows.Select((r, i) => new Row(r.Tree, r.Leaf, r.R, r.N, r.Raw, r.Adv, r.ExpRaw, final[i]))];
    }

    /// <summary>Asserts the file's values equal the definition's (to float rounding) and returns the rows.</summary>
    public static List<Row> AssertAgree(IEnumerable<string> lines, string algo, string what)
    {
        var rows = Recompute(lines, algo);
        foreach (var r in rows)
        {
            Assert.True(Math.Abs(r.RawAdvantage - r.ExpectedRaw) < 1e-9,
                $"{what}, {r.Leaf}: raw_advantage {r.RawAdvantage}, the definition gives {r.ExpectedRaw}");
            Assert.True(Math.Abs(r.Advantage - r.ExpectedAdvantage) < 1e-6 * Math.Max(1, Math.Abs(r.ExpectedAdvantage)),
                $"{what}, {r.Leaf}: advantage {r.Advantage}, the definition gives {r.ExpectedAdvantage}");
        }
        return rows;
    }

    static double[] TreeRaw(List<JsonObject> trajectories, double[] rewards)
    {
        var paths = trajectories.Select(t => t["path"]!.AsArray().Select(n => n!.GetValue<string>()).ToList()).ToList();
        var through = new Dictionary<string, List<int>>();
        for (int i = 0; i < paths.Count; i++)
            foreach (string node in paths[i].Skip(1))
                (through.TryGetValue(node, out var list) ? list : through[node] = []).Add(i);
        double rootMean = rewards.Length > 1 ? rewards.Average() : 0;
        var raw = new double[rewards.Length];
        for (int i = 0; i < rewards.Length; i++)
        {
            var terms = new List<double> { rewards[i] - rootMean };
            foreach (string node in paths[i].Skip(1))
                if (through[node].Count > 1) terms.Add(rewards[i] - through[node].Average(j => rewards[j]));
            raw[i] = terms.Average();
        }
        return raw;
    }

    static double[] Group(double[] rewards)
    {
        double mean = 0, std = 1;
        if (rewards.Length > 1)
        {
            mean = rewards.Average();
            std = Math.Sqrt(rewards.Sum(r => (r - mean) * (r - mean)) / (rewards.Length - 1));
        }
        return [.. rewards.Select(r => (r - mean) / (std + 1e-6))];
    }

    static double[] Whiten(double[] raw, int[] n)
    {
        long total = n.Sum(x => (long)x);
        if (total == 0) return new double[raw.Length];
        double mu = raw.Select((r, i) => r * n[i]).Sum() / total;
        double variance = total > 1 ? raw.Select((r, i) => n[i] * (r - mu) * (r - mu)).Sum() / (total - 1) : 0;
        return [.. raw.Select((r, i) => n[i] == 0 ? 0 : (r - mu) / Math.Sqrt(variance + 1e-8))];
    }
}
