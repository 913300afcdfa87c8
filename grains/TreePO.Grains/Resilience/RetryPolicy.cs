using Polly;
using Polly.Retry;

namespace TreePO.Grains.Resilience;

/// <summary>
/// The one retry policy of the cluster's calls (Polly's retry pipeline): how many tries in all, the wait after each
/// failure (no jitter: waits are the same every run), and which failures are tried again. The callers' policies are
/// the static fields below; a caller narrows <see cref="RetryOn"/> with <c>with</c>. Failures not retried, and the
/// last one, reach the caller unchanged; cancellation is never retried.
/// </summary>
public sealed record RetryPolicy
{
    /// <summary>A tree asked again when its silo went away (TreeAsk): until the cluster has declared the dead silo dead a
    /// new call can fail too; waits of 0.5, 1, 2, 4, 8, 8, 8 s cover about 40 s, twice Orleans' default failure
    /// detection. Also the silo-loss retries of a weight sync (EngineSync).</summary>
    public static readonly RetryPolicy TreeAsk = new()
    {
        Attempts = 8, Delay = TimeSpan.FromMilliseconds(500), MaxDelay = TimeSpan.FromSeconds(8), Backoff = DelayBackoffType.Exponential,
    };

    /// <summary>An engine whose sync fails for another reason than a lost silo (EngineSync): three tries, spaced as tree
    /// asks, then it is left behind.</summary>
    public static readonly RetryPolicy FailingEngine = TreeAsk with { Attempts = 3, RetryOn = _ => true };

    /// <summary>The client's poll of a run grain (RunSupervisor): waits of 1, 2, 3, 4, 5, 5, ... s, 24 tries (about 2
    /// minutes) before the cluster counts as gone.</summary>
    public static readonly RetryPolicy RunPoll = new()
    {
        Attempts = 24, Delay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromSeconds(5), Backoff = DelayBackoffType.Linear,
    };

    /// <summary>A tree waiting for an engine (EngineRouter): looks again every 100 ms until Routing:EngineWaitTimeout
    /// (<see cref="UntilAsync"/>).</summary>
    public static readonly RetryPolicy EngineWait = new() { Attempts = int.MaxValue, Delay = TimeSpan.FromMilliseconds(100) };

    /// <summary>Tries in all, the first included; <see cref="int.MaxValue"/>: no limit but the caller's deadline.</summary>
    public int Attempts { get; init; } = 1;

    /// <summary>The wait after the first failure; <see cref="Backoff"/> says how the next ones grow.</summary>
    public TimeSpan Delay { get; init; }

    /// <summary>No wait is longer than this.</summary>
    public TimeSpan? MaxDelay { get; init; }

    /// <summary>Constant (Delay every time), Linear (Delay x failures) or Exponential (Delay x 2^(failures - 1)).</summary>
    public DelayBackoffType Backoff { get; init; } = DelayBackoffType.Constant;

    /// <summary>Which failures are tried again; by default those of the call, not of the callee (<see cref="IsLostCall"/>).</summary>
    public Func<Exception, bool> RetryOn { get; init; } = IsLostCall;

    /// <summary>The clock the waits run on (tests give a fake one).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>The call, not the callee, failed: silo unavailable, connection lost, no answer in time.</summary>
    public static bool IsSiloLoss(Exception e) => e is OrleansException or TimeoutException;

    /// <summary>A silo loss, or a call canceled by the runtime rather than by its caller: a client's connection to a
    /// gateway that died is given up with an <see cref="OperationCanceledException"/> (a caller's own cancellation is
    /// never retried, see <see cref="RunAsync{T}"/>). What every policy retries unless it says otherwise; the killed-silo
    /// test lost 6 of 96 trees to such calls in a CI run before tree asks did. The weight sync tells a lost silo
    /// (<see cref="IsSiloLoss"/>) from an engine that fails or stalls (a stalled stream is canceled).</summary>
    public static bool IsLostCall(Exception e) => IsSiloLoss(e) || e is OperationCanceledException;

    /// <summary>Runs <paramref name="call"/>, again after each failure that <see cref="RetryOn"/> accepts while tries
    /// are left; <paramref name="onRetry"/> hears each such failure and how many there were in a row.</summary>
    public async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> call, Action<Exception, int>? onRetry = null,
        CancellationToken cancellationToken = default)
    {
        var pipeline = Pipeline<T>(args => args.Outcome.Exception is { } e && !cancellationToken.IsCancellationRequested && RetryOn(e),
            onRetry is null ? null : (e, failures) => { if (e is not null) onRetry(e, failures); });
        return await pipeline.ExecuteAsync(async ct => await call(ct), cancellationToken);
    }

    /// <summary>Runs <paramref name="call"/> until it returns a value, or returns null once <paramref name="until"/>
    /// (by <see cref="Time"/>) has passed. Failures are not retried here: the call says "none yet" with null.</summary>
    public async Task<T?> UntilAsync<T>(Func<CancellationToken, Task<T?>> call, DateTimeOffset until, CancellationToken cancellationToken = default)
        where T : class
    {
        var pipeline = Pipeline<T?>(args => args.Outcome is { Exception: null, Result: null } && Time.GetUtcNow() < until, null);
        return await pipeline.ExecuteAsync(async ct => await call(ct), cancellationToken);
    }

    ResiliencePipeline<T> Pipeline<T>(Func<RetryPredicateArguments<T>, bool> retry, Action<Exception?, int>? onRetry)
    {
        if (Attempts <= 1) return ResiliencePipeline<T>.Empty;
        return new ResiliencePipelineBuilder<T> { TimeProvider = Time }
            .AddRetry(new RetryStrategyOptions<T>
            {
                MaxRetryAttempts = Attempts == int.MaxValue ? int.MaxValue : Attempts - 1,
                Delay = Delay,
                MaxDelay = MaxDelay,
                BackoffType = Backoff,
                UseJitter = false,   // determinism: the same waits every run
                ShouldHandle = args => ValueTask.FromResult(retry(args)),
                OnRetry = args =>
                {
                    onRetry?.Invoke(args.Outcome.Exception, args.AttemptNumber + 1);
                    return default;
                },
            })
            .Build();
    }
}
