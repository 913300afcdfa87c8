namespace TreePO.Cluster.Tests.Support;

/// <summary>A <see cref="ProcessCluster"/> with postgres clustering on a test's own PostgreSQL.</summary>
public sealed class PostgresCluster : ProcessCluster
{
    public PostgresCluster(string connection, string workDir) : this(connection, workDir, "pg-" + Guid.NewGuid().ToString("N")[..8]) { }

    PostgresCluster(string connection, string workDir, string clusterId) : base(workDir, new Dictionary<string, string>
    {
        ["TREEPO__CLUSTER__CLUSTERING"] = "postgres",
        ["TREEPO__CLUSTER__POSTGRES"] = connection,
        ["TREEPO__CLUSTER__CLUSTERID"] = clusterId,
    })
    {
        Connection = connection;
        ClusterId = clusterId;
    }

    public string Connection { get; }
    public string ClusterId { get; }
}
