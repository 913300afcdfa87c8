using Orleans.Concurrency;
using Orleans.Runtime;
using TorchSharp;
using TreePO.Engine.Native;
using TreePO.Grains.Placement;

namespace TreePO.Grains.Diagnostics;

[SiloPinnedPlacement, Reentrant]
public sealed class SiloInfoGrain(ILocalSiloDetails local) : Grain, ISiloInfoGrain
{
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (!SiloKey.ParseSilo(this.GetPrimaryKeyString()).Equals(local.SiloAddress))
            throw new InvalidOperationException($"{this.GetPrimaryKeyString()} activated on the wrong silo {local.SiloAddress}");
        return base.OnActivateAsync(cancellationToken);
    }

    public Task<SiloReport> GetReportAsync()
    {
        string[] devices = ["cpu", .. DeviceName.CudaDevices()];
        return Task.FromResult(new SiloReport(
            local.SiloAddress.ToParsableString(), Environment.MachineName, Environment.ProcessId,
            typeof(torch).Assembly.GetName().Version?.ToString() ?? "?", devices, torch.get_num_threads(),
            TorchRuntime.Inspect().Describe()));
    }
}
