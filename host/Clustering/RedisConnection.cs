using System.Text.RegularExpressions;
using StackExchange.Redis;

namespace TreePO.Hosting.Clustering;

/// <summary>A Redis connection string as it may be shown: in logs, messages, summary.json and the dashboard.</summary>
public static partial class RedisConnection
{
    /// <summary><paramref name="connection"/> without its password (StackExchange.Redis's own rendering without it; a
    /// string it cannot parse has every <c>password=...</c> masked).</summary>
    public static string Redacted(string connection)
    {
        if (string.IsNullOrEmpty(connection)) return connection;
        try
        {
            return ConfigurationOptions.Parse(connection).ToString(includePassword: false);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or NotSupportedException)
        {
            return Masked(connection);
        }
    }

    /// <summary><paramref name="text"/> with every <c>password=...</c> masked (an error message that quotes a
    /// connection string).</summary>
    public static string Masked(string text) => Password().Replace(text, "${key}=***");

    [GeneratedRegex(@"(?<key>password)\s*=\s*[^,]*", RegexOptions.IgnoreCase)]
    private static partial Regex Password();
}
