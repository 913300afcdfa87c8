using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace TreePO.Grains.Training;

/// <summary>The cluster's training lease (<see cref="ITrainingLeaseGrain"/>), kept in the cluster's run storage
/// (<see cref="RunStorage.Name"/>: Redis or PostgreSQL on a shared cluster). When this grain's silo dies the next
/// activation reads the holder back, so a second run is still refused while the first lives on elsewhere; a holder
/// whose run is gone stops renewing and expires (see docs/deploy.md).</summary>
[KeepAlive]
public sealed class TrainingLeaseGrain(
    [PersistentState("lease", RunStorage.Name)] IPersistentState<TrainingLeaseState> stored,
    ILogger<TrainingLeaseGrain> log) : Grain, ITrainingLeaseGrain
{
    TrainingLease? Holder => stored.State.Holder;

    public async Task<TrainingLease> AcquireAsync(string runId, string silo, TimeSpan ttl)
    {
        if (ttl <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(ttl), $"must be positive, got {ttl}");
        var now = DateTime.UtcNow;
        if (Holder is { } h && h.RunId != runId && h.ExpiresUtc > now) return h;
        if (Holder is { } old && old.RunId != runId)
            log.LogWarning("training lease of run {Old} expired at {Expired:u} (its run stopped renewing); run {Run} takes it", old.RunId, old.ExpiresUtc, runId);
        var taken = new TrainingLease(runId, silo, Holder?.RunId == runId ? Holder.SinceUtc : now, now + ttl);
        await SaveAsync(taken);   // a lease the storage did not take is not granted: the caller sees the error
        return taken;
    }

    public async Task ReleaseAsync(string runId)
    {
        if (Holder?.RunId == runId) await SaveAsync(null);
    }

    public Task<TrainingLease?> GetHolderAsync() =>
        Task.FromResult(Holder is { } h && h.ExpiresUtc > DateTime.UtcNow ? h : null);

    async Task SaveAsync(TrainingLease? holder)
    {
        var before = stored.State.Holder;
        stored.State.Holder = holder;
        try { await stored.WriteStateAsync(); }
        catch
        {
            stored.State.Holder = before;   // memory and storage agree on who holds it
            throw;
        }
    }
}

