namespace TreePO.Cluster.Tests.Support;

/// <summary>A <see cref="ProcessCluster"/> with redis clustering on a test's own Redis.</summary>
public sealed class RedisCluster(RedisServer redis, string workDir) : ProcessCluster(workDir, new Dictionary<string, string>
{
    ["TREEPO__CLUSTER__CLUSTERING"] = "redis",
    ["TREEPO__CLUSTER__REDIS"] = redis.Connection,
    ["TREEPO__CLUSTER__CLUSTERID"] = "test-" + Guid.NewGuid().ToString("N")[..8],
});
