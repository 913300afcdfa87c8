using TreePO.Core.Protocol;
using TreePO.Core.Trees;

namespace TreePO.Testing;

/// <summary>Builds trees by hand: each entry is (node name, parent name or null for the root's children, reward if a leaf).
/// Every segment has 2 tokens.</summary>
public static class HandTrees
{
    public static SegmentTree Build(string treeId, params (string Name, string? Parent, double? Reward)[] spec)
    {
        var config = new TreeConfig { Width = 16, Depth = 4, SegmentLength = 2 };
        string Id(string? name) => name is null ? $"{treeId}/root" : $"{treeId}/{name}";
        var nodes = new List<TreeNode> { new(Id(null), null, 0, [1, 2, 3], [], "", null, null, 0, null, 0, 0) };
        var byName = new Dictionary<string, TreeNode>();
        var trajectories = new List<Trajectory>();
        foreach (var (name, parentName, reward) in spec)
        {
            TreeNode parent = parentName is null ? nodes[0] : byName[parentName];
            var node = new TreeNode(Id(name), parent.Id, parent.Depth + 1, [40, 41], [-1f, -1f], "..", SegmentFinish.Length,
                reward is null ? null : StopReason.Eos, 0, null, parent.Depth + 1, parent.ResponseLength + 2);
            nodes.Add(node);
            byName[name] = node;
            if (reward is { } r)
            {
                var path = new List<string>();
                for (TreeNode? n = node; n is not null; n = n.ParentId is null ? null : nodes.Single(x => x.Id == n.ParentId)) path.Add(n.Id);
                path.Reverse();
                trajectories.Add(new Trajectory(node.Id, path, StopReason.Eos, node.Round, node.ResponseLength) { Reward = r, Correct = r > 0 });
            }
        }
        return new SegmentTree(treeId, new QueryItem("q-" + treeId, "?", "1", [1, 2, 3]), config, 0, 0, nodes, trajectories);
    }

    /// <summary>The paper's Figure 3 tree: a, b, then c with children c1 (c1,1 c1,2), c2 (c2,1 c2,2 c2,3) and c3.</summary>
    public static SegmentTree Figure3() => Build("fig3",
        ("a", null, -1), ("b", null, +1), ("c", null, null),
        ("c1", "c", null), ("c2", "c", null), ("c3", "c", -1),
        ("c11", "c1", -1), ("c12", "c1", -1),
        ("c21", "c2", +1), ("c22", "c2", +1), ("c23", "c2", -1));
}
