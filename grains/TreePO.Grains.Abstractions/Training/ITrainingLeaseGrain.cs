namespace TreePO.Grains.Training;

/// <summary>
/// One training run per cluster: the run grain takes this lease before it loads a trainer, renews it while it runs
/// and gives it back when it ends. A second run is refused with the holder's name. The lease expires when its holder
/// stops renewing (the run's silo died and nobody resumed it), so a dead run does not block the cluster for good;
/// the same run id may always take it again (a run resumed on another silo).
/// </summary>
[Alias("treepo.training-lease")]
public interface ITrainingLeaseGrain : IGrainWithStringKey
{
    /// <summary>The one key: the lease is cluster-wide.</summary>
    public const string Cluster = "cluster";

    /// <summary>Takes or renews the lease for <paramref name="runId"/> for <paramref name="ttl"/>; returns the holder
    /// after the call (another run's lease, if that one holds it and has not expired).</summary>
    [Alias("acquire")]
    Task<TrainingLease> AcquireAsync(string runId, string silo, TimeSpan ttl);

    /// <summary>Gives the lease back, if <paramref name="runId"/> holds it.</summary>
    [Alias("release")]
    Task ReleaseAsync(string runId);

    /// <summary>The current unexpired holder, or null.</summary>
    [Alias("holder")]
    Task<TrainingLease?> GetHolderAsync();
}

/// <summary>Who holds the cluster's training lease: the run, its silo, since when, until when unless renewed.</summary>
[GenerateSerializer, Immutable, Alias("treepo.training-lease-holder")]
public sealed record TrainingLease(
    [property: Id(0)] string RunId,
    [property: Id(1)] string Silo,
    [property: Id(2)] DateTime SinceUtc,
    [property: Id(3)] DateTime ExpiresUtc);
