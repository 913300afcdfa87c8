using TreePO.Core.Reward;

namespace TreePO.Core.Trees;

/// <summary>
/// One query's finished segment tree: the nodes (root = prompt), the trajectories (root-to-leaf paths), the query,
/// the configuration and what sampling it cost. Built by <see cref="TreeSampler"/> or read back from trees.jsonl.
/// </summary>
public sealed class SegmentTree
{
    readonly List<TreeNode> _nodes;
    readonly Dictionary<string, TreeNode> _byId;
    readonly List<Trajectory> _trajectories;

    public SegmentTree(string treeId, QueryItem query, TreeConfig config, ulong seed, int policyVersion,
        IEnumerable<TreeNode> nodes, IEnumerable<Trajectory> trajectories, SamplingStats? stats = null)
    {
        TreeId = treeId;
        Query = query;
        Config = config;
        Seed = seed;
        PolicyVersion = policyVersion;
        Stats = stats ?? new SamplingStats();
        _nodes = nodes.ToList();
        _byId = new Dictionary<string, TreeNode>(_nodes.Count, StringComparer.Ordinal);
        foreach (TreeNode n in _nodes)
        {
            if (!_byId.TryAdd(n.Id, n)) throw new ArgumentException($"tree {treeId}: duplicate node id \"{n.Id}\"");
            if (n.ParentId is null)
            {
                if (Root is not null) throw new ArgumentException($"tree {treeId}: two root nodes (\"{Root.Id}\", \"{n.Id}\")");
                if (n.Depth != 0) throw new ArgumentException($"tree {treeId}: root \"{n.Id}\" has depth {n.Depth}, expected 0");
                Root = n;
            }
            else if (!_byId.TryGetValue(n.ParentId, out TreeNode? parent))
                throw new ArgumentException($"tree {treeId}: node \"{n.Id}\" comes before (or without) its parent \"{n.ParentId}\"");
            else if (n.Depth != parent.Depth + 1)
                throw new ArgumentException($"tree {treeId}: node \"{n.Id}\" has depth {n.Depth}, its parent {parent.Depth}");
        }
        if (Root is null) throw new ArgumentException($"tree {treeId}: no root node");
        _trajectories = trajectories.ToList();
        foreach (Trajectory t in _trajectories)
        {
            if (t.Path.Count == 0 || t.Path[0] != Root.Id || t.Path[^1] != t.Leaf)
                throw new ArgumentException($"tree {treeId}: trajectory of \"{t.Leaf}\" must run from the root to its leaf");
            for (int i = 1; i < t.Path.Count; i++)
                if (!_byId.TryGetValue(t.Path[i], out TreeNode? n) || n.ParentId != t.Path[i - 1])
                    throw new ArgumentException($"tree {treeId}: trajectory of \"{t.Leaf}\" is not a path at \"{t.Path[i]}\"");
        }
    }

    public string TreeId { get; }
    public QueryItem Query { get; }
    public TreeConfig Config { get; }
    public ulong Seed { get; }
    /// <summary>The policy version the tree asked for (each node records the one that generated it).</summary>
    public int PolicyVersion { get; }
    public SamplingStats Stats { get; }
    public TreeNode Root { get; } = null!;
    /// <summary>All nodes, parents before children (creation order).</summary>
    public IReadOnlyList<TreeNode> Nodes => _nodes;
    public IReadOnlyList<Trajectory> Trajectories => _trajectories;
    public int PromptLength => Root.Tokens.Length;
    public TreeMetrics Metrics => TreeMetrics.Of(this);

    public TreeNode Node(string id) =>
        _byId.TryGetValue(id, out TreeNode? n) ? n : throw new KeyNotFoundException($"tree {TreeId}: no node \"{id}\"");

    public bool TryGetNode(string id, out TreeNode node) => _byId.TryGetValue(id, out node!);

    /// <summary>The nodes of a trajectory's path, root first.</summary>
    public IEnumerable<TreeNode> PathNodes(Trajectory t) => t.Path.Select(Node);

    /// <summary>The response tokens of a trajectory (its path without the prompt).</summary>
    public int[] ResponseTokens(Trajectory t) => PathNodes(t).Skip(1).SelectMany(n => n.Tokens).ToArray();

    /// <summary>The per-token log-probs of a trajectory's response.</summary>
    public float[] ResponseLogProbs(Trajectory t) => PathNodes(t).Skip(1).SelectMany(n => n.LogProbs).ToArray();

    /// <summary>The policy version of every response token (the trainer checks a step never mixes them silently).</summary>
    public int[] ResponsePolicyVersions(Trajectory t) =>
        PathNodes(t).Skip(1).SelectMany(n => Enumerable.Repeat(n.PolicyVersion, n.Tokens.Length)).ToArray();

    /// <summary>The response text: decoded whole when a decoder is given (a character split across a segment boundary
    /// then decodes right), else the segment texts joined.</summary>
    public string ResponseText(Trajectory t, ITextDecoder? decoder = null) =>
        decoder is not null ? decoder.Decode(ResponseTokens(t)) : string.Concat(PathNodes(t).Skip(1).Select(n => n.Text));

    /// <summary>Fills reward and correctness of every trajectory against the query's answer.</summary>
    public void Score(IRewardFunction reward, ITextDecoder? decoder = null)
    {
        foreach (Trajectory t in _trajectories)
        {
            RewardResult r = reward.Score(ResponseText(t, decoder), Query.Answer, t.ResponseLength);
            t.Reward = r.Reward;
            t.Correct = r.Correct;
        }
    }
}
