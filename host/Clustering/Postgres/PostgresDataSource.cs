using System.Data.Common;
using Npgsql;

namespace TreePO.Hosting.Clustering.Postgres;

/// <summary>Npgsql data sources of the membership table, the reminder table and grain storage. Npgsql pools up to 100 connections per
/// source and PostgreSQL accepts 100 by default, so a few busy silos could exhaust the server: unless the connection
/// string sets Maximum Pool Size itself, each source is capped at the given size.</summary>
public static class PostgresDataSource
{
    public static NpgsqlDataSource Create(string connectionString, int maxPoolSize)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        var b = builder.ConnectionStringBuilder;
        b.ApplicationName ??= "treepo";
        var given = new DbConnectionStringBuilder { ConnectionString = connectionString };
        if (!given.Keys.Cast<string>().Any(k => k.Replace(" ", "").Equals("maximumpoolsize", StringComparison.OrdinalIgnoreCase)
                                                || k.Replace(" ", "").Equals("maxpoolsize", StringComparison.OrdinalIgnoreCase)))
        {
            b.MaxPoolSize = maxPoolSize;
            b.MinPoolSize = Math.Min(b.MinPoolSize, maxPoolSize);
        }
        return builder.Build();
    }

    /// <summary>Host, port and database of a connection string, for messages (never the password).</summary>
    public static string Describe(string connectionString)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        return $"{b.Host}:{b.Port}/{b.Database ?? b.Username}";
    }
}
