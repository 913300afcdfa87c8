using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Runtime;

namespace TreePO.Hosting.Telemetry;

/// <summary>This silo's status in the cluster's membership. Readiness: Active (joined, taking calls). Liveness: anything
/// but Dead; a silo the cluster voted dead never comes back and should be restarted.</summary>
public sealed class MembershipHealthCheck(IClusterMembershipService membership, ILocalSiloDetails local, bool readiness) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var snapshot = membership.CurrentSnapshot;
        var status = snapshot.GetSiloStatus(local.SiloAddress);
        int active = snapshot.Members.Values.Count(m => m.Status == SiloStatus.Active);
        var data = new Dictionary<string, object>
        {
            ["silo"] = local.SiloAddress.ToParsableString(), ["status"] = status.ToString(),
            ["activeSilos"] = active, ["membershipVersion"] = snapshot.Version.Value,
        };
        bool ok = readiness ? status == SiloStatus.Active : status != SiloStatus.Dead;
        string description = $"silo {local.SiloAddress} is {status} ({active} active silo(s) in the cluster)";
        return Task.FromResult(ok ? HealthCheckResult.Healthy(description, data) : HealthCheckResult.Unhealthy(description, data: data));
    }
}
