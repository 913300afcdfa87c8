using Microsoft.Extensions.Logging;
using TreePO.Grains.Engines;
using TreePO.Grains.Routing;
using TreePO.Grains.Trees;

namespace TreePO.Grains.Training;

/// <summary>
/// Makes every engine of the cluster pull a trainer's version. An engine whose silo dies during the sync is asked
/// again until the membership drops it (its trees are asked again elsewhere); any other failure, or an engine left
/// on another version, fails the sync.
/// </summary>
public sealed class EngineSync(EngineDirectory directory, IGrainFactory grains, ILogger log)
{
    public Task SyncAllAsync(string trainer, int version, bool force, CancellationToken ct) =>
        Task.WhenAll(directory.GetEngines().Select(e => SyncAsync(e, trainer, version, force, ct)));

    async Task SyncAsync(EngineAddress address, string trainer, int version, bool force, CancellationToken ct)
    {
        var engine = grains.GetGrain<IEngineGrain>(address.Key);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                int held = await engine.SyncWeightsAsync(trainer, version, force, ct);
                if (held != version) throw new InvalidOperationException($"engine {address.Key} holds version {held} after syncing to {version}");
                return;
            }
            catch (Exception e) when (TreeAsk.IsSiloLoss(e) && !ct.IsCancellationRequested)
            {
                if (!directory.IsActive(address.Silo))
                {
                    log.LogWarning("engine {Engine} left the cluster during the sync to {Trainer} version {Version}", address.Key, trainer, version);
                    return;
                }
                if (attempt == TreeAsk.Default.Attempts) throw;
                await Task.Delay(TreeAsk.Default.DelayAfter(attempt), ct);   // spaced as tree asks are
            }
        }
    }
}
