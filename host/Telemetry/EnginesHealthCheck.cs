using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Runtime;
using TreePO.Grains.Engines;
using TreePO.Grains.Placement;

namespace TreePO.Hosting.Telemetry;

/// <summary>Every engine of this silo answers a load query within <see cref="Timeout"/>. The first query activates an
/// engine that has not served yet (it loads the model onto its device), so readiness also brings the engines up.</summary>
public sealed class EnginesHealthCheck(IGrainFactory grains, ILocalSiloDetails local, LocalDevices devices) : IHealthCheck
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (devices.Count == 0) return HealthCheckResult.Healthy("this silo offers no engines (Engine:Devices=0)");
        var data = new Dictionary<string, object>();
        var problems = new List<string>();
        for (int d = 0; d < devices.Count; d++)
        {
            string key = SiloKey.For(local.SiloAddress, d);
            try
            {
                var load = await grains.GetGrain<IEngineGrain>(key).GetLoadAsync().WaitAsync(Timeout, cancellationToken);
                data[key] = $"serving, {load.QueueDepth} queued";
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                string why = e is TimeoutException ? $"no answer within {Timeout.TotalSeconds:0} s (loading its model?)" : e.Message;
                data[key] = why;
                problems.Add($"engine {key}: {why}");
            }
        }
        return problems.Count == 0
            ? HealthCheckResult.Healthy($"{devices.Count} engine(s) serving", data)
            : HealthCheckResult.Unhealthy(string.Join("; ", problems), data: data);
    }
}
