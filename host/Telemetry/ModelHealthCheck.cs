using Microsoft.Extensions.Diagnostics.HealthChecks;
using TreePO.Hosting.Models;

namespace TreePO.Hosting.Telemetry;

/// <summary>The model this silo loaded and checked before joining (<see cref="ModelCheck"/>): its folder and hash.
/// Unhealthy where no check ran (a host that skipped it serves a model nobody verified).</summary>
public sealed class ModelHealthCheck(ModelIdentity? model) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(model is null
            ? HealthCheckResult.Unhealthy("the model was not checked at start")
            : HealthCheckResult.Healthy($"model {model.Folder} loaded (hash {model.ShortHash})",
                new Dictionary<string, object> { ["folder"] = model.Folder, ["hash"] = model.Hash }));
}
