using Npgsql;

namespace TreePO.Hosting.Clustering.Postgres;

/// <summary>The project's PostgreSQL schema (PostgresSchema.sql, embedded in this assembly: membership and grain
/// state tables), applied by each silo at start.
/// CREATE TABLE IF NOT EXISTS is not safe against a concurrent twin (both may pass the check and one then fails on
/// the catalog), so the script runs in a transaction that first takes a transaction-scoped advisory lock.</summary>
public static class PostgresSchema
{
    public const string ResourceName = "TreePO.Hosting.Clustering.Postgres.PostgresSchema.sql";

    /// <summary>The advisory lock key: "treepo" in ASCII, so other applications' keys are unlikely to collide.</summary>
    const long LockKey = 0x74_72_65_65_70_6f;

    public static string Script { get; } = Load();

    public static async Task ApplyAsync(NpgsqlDataSource db, CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", connection, tx))
        {
            lockCommand.Parameters.AddWithValue("key", LockKey);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var schema = new NpgsqlCommand(Script, connection, tx))
            await schema.ExecuteNonQueryAsync(cancellationToken);
        await tx.CommitAsync(cancellationToken);
    }

    static string Load()
    {
        using var stream = typeof(PostgresSchema).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"embedded resource {ResourceName} is missing from {typeof(PostgresSchema).Assembly.GetName().Name}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
