using System.Net;
using Npgsql;
using StackExchange.Redis;
using TreePO.Hosting.Options;

namespace TreePO.Hosting.Clustering;

/// <summary>The Cluster keys that clustering, TLS and the dashboard read, checked before anything starts; each error
/// names its key (the caller prefixes "TreePO:").</summary>
public static class ClusterOptionsCheck
{
    public static IReadOnlyList<string> Validate(ClusterOptions c)
    {
        var errors = new List<string>();
        void Check(bool ok, string key, string why) { if (!ok) errors.Add($"Cluster:{key}: {why}"); }

        if (c.IsRedis)
        {
            string? why = RedisProblem(c.Redis);
            Check(why is null, "Redis", why!);
        }
        if (c.IsPostgres)
        {
            string? why = PostgresProblem(c.Postgres);
            Check(why is null, "Postgres", why!);
        }
        Check(c.AdvertisedAddress.Length == 0 || IPAddress.TryParse(c.AdvertisedAddress, out _), "AdvertisedAddress",
            $"'{c.AdvertisedAddress}' is not an IP address");
        Check(c.ListenAddress.Length == 0 || IPAddress.TryParse(c.ListenAddress, out _), "ListenAddress",
            $"'{c.ListenAddress}' is not an IP address (0.0.0.0 listens on every interface)");
        Check(c.IsShared || (c.AdvertisedAddress.Length == 0 && c.ListenAddress.Length == 0), c.AdvertisedAddress.Length > 0 ? "AdvertisedAddress" : "ListenAddress",
            "localhost clustering is loopback only; set Cluster:Clustering=redis or postgres to reach silos on other machines");
        Check(c.WeightStreamPort is >= 0 and < 65536, "WeightStreamPort", $"must be 0 (any free port) or a TCP port, got {c.WeightStreamPort}");
        Check(c.WeightStreamPort == 0 || (c.WeightStreamPort != c.SiloPort && c.WeightStreamPort != c.GatewayPort), "WeightStreamPort",
            $"{c.WeightStreamPort} is already this silo's {(c.WeightStreamPort == c.SiloPort ? "Cluster:SiloPort" : "Cluster:GatewayPort")}");
        Check(c.WeightStreamMBps >= 0, "WeightStreamMBps", $"must be 0 (no cap) or more, got {c.WeightStreamMBps}");
        errors.AddRange(TreePO.Grains.Training.WeightFanout.Errors(c.WeightFanout, c.WeightFanoutDegree));
        Check(c.ProbeTimeout > TimeSpan.Zero, "ProbeTimeout", $"must be positive, got {c.ProbeTimeout}");
        Check(c.MissedProbesLimit > 0, "MissedProbesLimit", $"must be positive, got {c.MissedProbesLimit}");
        Check(c.ShutdownTimeout >= TimeSpan.FromSeconds(1) && c.ShutdownTimeout <= TimeSpan.FromHours(1), "ShutdownTimeout",
            $"must be between 00:00:01 and 01:00:00, got {c.ShutdownTimeout}");

        var d = c.Dashboard;
        Check(d.Port is > 0 and < 65536, "Dashboard:Port", $"must be a TCP port, got {d.Port}");
        Check(!d.Enabled || (d.Port != c.SiloPort && d.Port != c.GatewayPort), "Dashboard:Port",
            $"{d.Port} is already this silo's {(d.Port == c.SiloPort ? "Cluster:SiloPort" : "Cluster:GatewayPort")}");
        Check(IPAddress.TryParse(d.Address, out _), "Dashboard:Address",
            $"'{d.Address}' is not an IP address (127.0.0.1 keeps the dashboard on this machine)");

        var t = c.Tls;
        if (t.Enabled)
        {
            Check(t.CertificatePath.Length > 0, "Tls:CertificatePath", "is required when Cluster:Tls:Enabled is true (scripts/make-dev-cert.sh makes one)");
            Check(t.CertificatePath.Length == 0 || File.Exists(t.CertificatePath), "Tls:CertificatePath", $"file '{t.CertificatePath}' does not exist");
            Check(t.KeyPath.Length == 0 || File.Exists(t.KeyPath), "Tls:KeyPath", $"file '{t.KeyPath}' does not exist");
            Check(t.CaPath.Length == 0 || File.Exists(t.CaPath), "Tls:CaPath", $"file '{t.CaPath}' does not exist");
        }

        return errors;
    }

    static string? PostgresProblem(string connection)
    {
        if (string.IsNullOrWhiteSpace(connection))
            return "must not be empty with postgres clustering (e.g. Host=127.0.0.1;Port=5432;Username=postgres;Database=treepo)";
        try
        {
            var b = new NpgsqlConnectionStringBuilder(connection);
            return string.IsNullOrWhiteSpace(b.Host) ? $"'{Redacted(b)}' names no Host"
                : string.IsNullOrWhiteSpace(b.Database) ? $"'{Redacted(b)}' names no Database (the silos create their tables in it)"
                : null;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException)
        {
            return $"not an Npgsql connection string (Host=...;Port=...;Username=...;Database=...): {e.Message}";
        }
    }

    /// <summary>The connection string without its password, for messages.</summary>
    static string Redacted(NpgsqlConnectionStringBuilder b)
    {
        if (!string.IsNullOrEmpty(b.Password)) b.Password = "***";
        return b.ConnectionString;
    }

    static string? RedisProblem(string connection)
    {
        if (string.IsNullOrWhiteSpace(connection)) return "must not be empty with redis clustering (e.g. 127.0.0.1:6379)";
        try
        {
            var parsed = ConfigurationOptions.Parse(connection);
            return parsed.EndPoints.Count == 0 ? $"'{RedisConnection.Redacted(connection)}' names no host:port" : null;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or NotSupportedException)
        {
            return $"'{RedisConnection.Redacted(connection)}' is not a Redis connection string: {RedisConnection.Masked(e.Message)}";
        }
    }
}
