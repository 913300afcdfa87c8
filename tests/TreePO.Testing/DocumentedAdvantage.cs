using System.Text.Json.Nodes;

namespace TreePO.Testing;

/// <summary>
/// The advantages of an exported batch (trees.jsonl, runs/NAME/trees/step-N.jsonl) recomputed from the JSON alone by
/// the definition in docs/trees-format.md (<i>Advantages</i>, default options), written independently of the
/// project's estimators: rewards, each trajectory's path and response_len, nothing else.
/// </summary>
public static class DocumentedAdvantage
{
    /// <summary>One exported trajectory: what the file says and what the definition gives (with the segment estimator,
    /// also per response node of its path).</summary>
    public sealed record Row(string Tree, string Leaf, double Reward, int ResponseLen,
        double RawAdvantage, double Advantage, double ExpectedRaw, double ExpectedAdvantage,
        double[]? Segments = null, double[]? ExpectedSegments = null);

    /// <summary>Every trajectory of <paramref name="lines"/> (one tree a line; the lines are the batch) with the
    /// advantages the definition of <paramref name="algo"/> ("treepo" or "grpo") gives.</summary>
    public static List<Row> Recompute(IEnumerable<string> lines, string algo)
    {
        if (algo == "segment") return RecomputeSegments(lines);
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
            if (r.ExpectedSegments is not { } expected) continue;
            Assert.True(r.Segments is { } got && got.Length == expected.Length,
                $"{what}, {r.Leaf}: segment_advantages holds {r.Segments?.Length.ToString() ?? "nothing"}, the path {expected.Length} response nodes");
            for (int j = 0; j < expected.Length; j++)
                Assert.True(Math.Abs(r.Segments![j] - expected[j]) < 1e-6 * Math.Max(1, Math.Abs(expected[j])),
                    $"{what}, {r.Leaf}: segment_advantages[{j}] {r.Segments[j]}, the definition gives {expected[j]}");
        }
        return rows;
    }

    /// <summary>The segment estimator: node v after the root gets mean R over G(v) minus mean R over G(u) \ G(v), u being
    /// v's nearest ancestor whose trajectories are more than v's (the root when none; 0 when G(v) is the whole tree);
    /// whitened over the batch with each node of each path weighted by its tokens; a trajectory's two advantages are its
    /// nodes' token means.</summary>
    static List<Row> RecomputeSegments(IEnumerable<string> lines)
    {
        var items = new List<(string Tree, JsonObject T, double R, string[] Path, double[] Raw, int[] Tokens)>();
        foreach (string line in lines.Where(l => !string.IsNullOrWhiteSpace(l)))
        {
            var tree = JsonNode.Parse(line)!.AsObject();
            string id = tree["tree_id"]!.GetValue<string>();
            var tokens = tree["nodes"]!.AsArray().ToDictionary(n => n!["id"]!.GetValue<string>(), n => n!["tokens"]!.AsArray().Count);
            var trajectories = tree["trajectories"]!.AsArray().Select(t => t!.AsObject()).ToList();
            double[] rewards = [.. trajectories.Select(t => t["reward"]!.GetValue<double>())];
            var paths = trajectories.Select(t => t["path"]!.AsArray().Select(n => n!.GetValue<string>()).ToArray()).ToList();
            var through = new Dictionary<string, List<int>>();
            for (int i = 0; i < paths.Count; i++)
                foreach (string node in paths[i])
                    (through.TryGetValue(node, out var list) ? list : through[node] = []).Add(i);
            for (int i = 0; i < paths.Count; i++)
            {
                var raw = new double[paths[i].Length - 1];
                for (int j = 1; j < paths[i].Length; j++)
                {
                    var g = through[paths[i][j]];
                    int a = j - 1;
                    while (a > 0 && through[paths[i][a]].Count == g.Count) a--;
                    var others = through[paths[i][a]].Except(g).ToList();
                    raw[j - 1] = others.Count == 0 ? 0 : g.Average(k => rewards[k]) - others.Average(k => rewards[k]);
                }
                items.Add((id, trajectories[i], rewards[i], paths[i], raw, [.. paths[i].Skip(1).Select(n => tokens[n])]));
            }
        }
        double[] whitened = Whiten([.. items.SelectMany(x => x.Raw)], [.. items.SelectMany(x => x.Tokens)]);
        var rows = new List<Row>();
        int at = 0;
        foreach (var (tree, t, r, path, raw, tokens) in items)
        {
            double[] expected = whitened[at..(at + raw.Length)];
            at += raw.Length;
            double n = tokens.Sum();
            rows.Add(new Row(tree, t["leaf"]!.GetValue<string>(), r, t["response_len"]!.GetValue<int>(),
                t["raw_advantage"]!.GetValue<double>(), t["advantage"]!.GetValue<double>(),
                n == 0 ? 0 : raw.Select((v, j) => v * tokens[j]).Sum() / n, n == 0 ? 0 : expected.Select((v, j) => v * tokens[j]).Sum() / n,
                t["segment_advantages"]?.AsArray().Select(v => v!.GetValue<double>()).ToArray(), expected));
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
