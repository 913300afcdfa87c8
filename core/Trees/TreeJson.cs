using System.Text.Json;
using System.Text.Json.Serialization;
using TreePO.Core.Protocol;

namespace TreePO.Core.Trees;

/// <summary>
/// The trees.jsonl format (docs/trees-format.md): one tree per line, snake_case fields. <see cref="Read"/> rebuilds
/// exactly the tree <see cref="Write"/> was given (metrics are written for readers and recomputed on reading).
/// </summary>
public static class TreeJson
{
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    static JsonSerializerOptions CreateOptions()
    {
        var o = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            RespectNullableAnnotations = true,
        };
        o.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        return o;
    }

    public sealed record NodeRecord(string Id, string? Parent, int Depth, int[] Tokens, float[] Logprobs, string Text,
        string? Finish, string? Stop, int PolicyVersion, string? FallbackFrom, int Round);

    /// <param name="SegmentAdvantages">With the segment estimator: the whitened value of each response node of
    /// <paramref name="Path"/>, what that node's tokens trained with; absent otherwise.</param>
    public sealed record TrajectoryRecord(string Leaf, string[] Path, string Stop, int Round, int ResponseLen,
        double Reward, bool Correct, double RawAdvantage, double Advantage,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double[]? SegmentAdvantages = null);

    public sealed record TreeRecord(string TreeId, string QueryId, string Question, string Answer, int PromptLen,
        ulong Seed, int PolicyVersion, TreeConfig Config, NodeRecord[] Nodes, TrajectoryRecord[] Trajectories,
        SamplingStats Stats, object? Metrics);

    /// <summary>One line of trees.jsonl (no newline).</summary>
    public static string Write(SegmentTree tree) => JsonSerializer.Serialize(ToRecord(tree), Options);

    public static TreeRecord ToRecord(SegmentTree tree) => new(
        tree.TreeId, tree.Query.Id, tree.Query.Question, tree.Query.Answer, tree.PromptLength, tree.Seed, tree.PolicyVersion,
        tree.Config,
        tree.Nodes.Select(n => new NodeRecord(n.Id, n.ParentId, n.Depth, n.Tokens, n.LogProbs, n.Text,
            n.Finish switch { SegmentFinish.Eos => "eos", SegmentFinish.Length => "length", _ => null },
            n.Stop?.ToWire(), n.PolicyVersion, n.FallbackFrom, n.Round)).ToArray(),
        tree.Trajectories.Select(t => new TrajectoryRecord(t.Leaf, [.. t.Path], t.Stop.ToWire(), t.Round, t.ResponseLength,
            t.Reward, t.Correct, t.RawAdvantage, t.Advantage, t.SegmentAdvantages)).ToArray(),
        tree.Stats,
        tree.Metrics);

    /// <summary>Parses one line. Errors name the field (and the line, when given).</summary>
    public static SegmentTree Read(string line, int lineNumber = 0)
    {
        string where = lineNumber > 0 ? $"trees.jsonl line {lineNumber}" : "tree";
        TreeRecord? r;
        try
        {
            r = JsonSerializer.Deserialize<TreeRecord>(line, Options);
        }
        catch (JsonException e)
        {
            throw new FormatException($"{where}: {e.Message}", e);
        }
        if (r is null) throw new FormatException($"{where}: null");
        try
        {
            return FromRecord(r);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException or NullReferenceException)
        {
            throw new FormatException($"{where}: {e.Message}", e);
        }
    }

    static SegmentTree FromRecord(TreeRecord r)
    {
        var nodes = new List<TreeNode>(r.Nodes.Length);
        var byId = new Dictionary<string, TreeNode>(StringComparer.Ordinal);
        foreach (NodeRecord n in r.Nodes)
        {
            int responseLength = 0;
            if (n.Parent is not null)
            {
                if (!byId.TryGetValue(n.Parent, out TreeNode? parent)) throw new FormatException($"node \"{n.Id}\": unknown parent \"{n.Parent}\"");
                responseLength = parent.ResponseLength + n.Tokens.Length;
            }
            SegmentFinish? finish = n.Finish switch
            {
                null => null,
                "eos" => SegmentFinish.Eos,
                "length" => SegmentFinish.Length,
                _ => throw new FormatException($"node \"{n.Id}\": field finish must be \"eos\", \"length\" or null, got \"{n.Finish}\""),
            };
            var node = new TreeNode(n.Id, n.Parent, n.Depth, n.Tokens, n.Logprobs ?? [], n.Text ?? string.Empty, finish,
                n.Stop is null ? null : StopReasons.FromWire(n.Stop), n.PolicyVersion, n.FallbackFrom, n.Round, responseLength);
            if (!byId.TryAdd(node.Id, node)) throw new FormatException($"duplicate node id \"{n.Id}\"");
            nodes.Add(node);
        }
        TreeNode root = nodes.FirstOrDefault(n => n.IsRoot) ?? throw new FormatException("no root node (a node with parent null)");
        if (root.Tokens.Length != r.PromptLen)
            throw new FormatException($"prompt_len is {r.PromptLen} but the root node holds {root.Tokens.Length} tokens");
        var trajectories = r.Trajectories.Select(t => new Trajectory(t.Leaf, t.Path, StopReasons.FromWire(t.Stop), t.Round, t.ResponseLen)
        {
            Reward = t.Reward,
            Correct = t.Correct,
            RawAdvantage = t.RawAdvantage,
            Advantage = t.Advantage,
            SegmentAdvantages = t.SegmentAdvantages is not { } values || values.Length == t.Path.Length - 1 ? t.SegmentAdvantages
                : throw new FormatException($"trajectory \"{t.Leaf}\": segment_advantages holds {values.Length} values for {t.Path.Length - 1} response nodes"),
        });
        var query = new QueryItem(r.QueryId, r.Question, r.Answer, root.Tokens);
        return new SegmentTree(r.TreeId, query, r.Config, r.Seed, r.PolicyVersion, nodes, trajectories, r.Stats);
    }

    /// <summary>Writes one line per tree.</summary>
    public static async Task WriteAllAsync(TextWriter writer, IEnumerable<SegmentTree> trees, CancellationToken ct = default)
    {
        foreach (SegmentTree t in trees) await writer.WriteLineAsync(Write(t).AsMemory(), ct);
        await writer.FlushAsync(ct);
    }

    /// <summary>Reads every non-blank line; a bad line throws a <see cref="FormatException"/> naming it.</summary>
    public static IEnumerable<SegmentTree> ReadAll(TextReader reader)
    {
        int lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (!string.IsNullOrWhiteSpace(line)) yield return Read(line, lineNumber);
        }
    }
}
