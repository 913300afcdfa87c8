namespace TreePO.Hosting.Options;

/// <summary>The Orleans Dashboard (Microsoft.Orleans.Dashboard) served by a silo over HTTP, at
/// http://Address:Port/dashboard/. Off unless enabled; it has no authentication, so it listens on loopback unless
/// told otherwise (reach it from another machine through an SSH tunnel: docs/deploy.md).</summary>
public sealed class ClusterDashboardOptions
{
    public bool Enabled { get; set; }

    public int Port { get; set; } = 8080;

    /// <summary>The IP the dashboard listens on. Anything but loopback exposes an unauthenticated page: the silo
    /// warns when it does.</summary>
    public string Address { get; set; } = "127.0.0.1";
}
