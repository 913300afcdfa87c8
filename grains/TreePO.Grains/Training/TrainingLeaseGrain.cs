using Microsoft.Extensions.Logging;

namespace TreePO.Grains.Training;

/// <summary>The cluster's training lease (<see cref="ITrainingLeaseGrain"/>), held in memory: if this grain's silo
/// dies the lease is re-taken by the running run's next renewal (or by a new run first; see docs/deploy.md).</summary>
[KeepAlive]
public sealed class TrainingLeaseGrain(ILogger<TrainingLeaseGrain> log) : Grain, ITrainingLeaseGrain
{
    TrainingLease? holder;

    public Task<TrainingLease> AcquireAsync(string runId, string silo, TimeSpan ttl)
    {
        if (ttl <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(ttl), $"must be positive, got {ttl}");
        var now = DateTime.UtcNow;
        if (holder is { } h && h.RunId != runId && h.ExpiresUtc > now) return Task.FromResult(h);
        if (holder is { } old && old.RunId != runId)
            log.LogWarning("training lease of run {Old} expired at {Expired:u} (its run stopped renewing); run {Run} takes it", old.RunId, old.ExpiresUtc, runId);
        holder = new TrainingLease(runId, silo, holder?.RunId == runId ? holder.SinceUtc : now, now + ttl);
        return Task.FromResult(holder);
    }

    public Task ReleaseAsync(string runId)
    {
        if (holder?.RunId == runId) holder = null;
        return Task.CompletedTask;
    }

    public Task<TrainingLease?> GetHolderAsync() =>
        Task.FromResult(holder is { } h && h.ExpiresUtc > DateTime.UtcNow ? h : null);
}
