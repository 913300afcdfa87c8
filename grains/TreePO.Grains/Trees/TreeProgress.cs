using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TreePO.Core.Trees;

namespace TreePO.Grains.Trees;

/// <summary>
/// A query tree's grain state: the sampler's snapshot after its last finished round, for the job it belongs to.
/// Written after every round, cleared when the tree is done; a tree whose silo died is reactivated elsewhere and
/// resumes from here. The snapshot is kept as TreeJson text so the core types need no Orleans serializer.
/// </summary>
[GenerateSerializer, Alias("treepo.tree-progress")]
public sealed class TreeProgress
{
    /// <summary>The grain storage provider every silo registers (memory, or Redis with redis clustering).</summary>
    public const string StorageName = "treepo-trees";

    /// <summary><see cref="KeyOf"/> of the job the snapshot belongs to.</summary>
    [Id(0)] public string JobKey { get; set; } = "";

    /// <summary>Times the job was started, this one included.</summary>
    [Id(1)] public int Starts { get; set; }

    /// <summary>The <see cref="TreeSnapshot"/> after the last finished round (TreeJson), or null before the first.</summary>
    [Id(2)] public string? Snapshot { get; set; }

    /// <summary>A fingerprint of everything that shapes the tree: a stored snapshot of another job is never resumed.</summary>
    public static string KeyOf(TreeJob job) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(job))))[..32];

    public TreeSnapshot? ReadSnapshot() =>
        Snapshot is null ? null : JsonSerializer.Deserialize<TreeSnapshot>(Snapshot, TreeJson.Options);

    public static string Write(TreeSnapshot snapshot) => JsonSerializer.Serialize(snapshot, TreeJson.Options);
}
