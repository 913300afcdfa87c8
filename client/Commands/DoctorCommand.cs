using System.Runtime.InteropServices;
using Orleans.Runtime;
using Spectre.Console;
using Spectre.Console.Cli;
using TorchSharp;
using TreePO.Engine.Native;
using TreePO.Grains.Diagnostics;
using TreePO.Grains.Placement;
using TreePO.Hosting;

namespace TreePO.Client.Commands;

/// <summary>`treepo doctor`: everything a first run depends on, checked in order, each failure named.</summary>
public sealed class DoctorCommand : AsyncCommand<DoctorCommand.Settings>
{
    public sealed class Settings : CommandSettings;

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var table = new Table().AddColumn("check").AddColumn("result");
        table.AddRow(".NET", Markup.Escape($"{RuntimeInformation.FrameworkDescription} ({RuntimeInformation.RuntimeIdentifier})"));
        NativeStatus native = TorchRuntime.Inspect();
        table.AddRow("native repair", Markup.Escape(native.Describe()));
        try
        {
            TorchRuntime.EnsureLoaded();
        }
        catch (Exception e)
        {
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"[red]TorchSharp: {Markup.Escape(e.Message)}[/]");
            return 2;
        }
        table.AddRow("TorchSharp", Markup.Escape($"{typeof(torch).Assembly.GetName().Version} (built for libtorch {torch.__version__})"));
        table.AddRow("libtorch", Markup.Escape(ExternalTorch.Loaded is { } external
            ? $"{ExternalTorch.LibTorchVariable}: {string.Join(", ", external)}"
            : $"the CPU build shipped with TorchSharp-cpu ({ExternalTorch.LibTorchVariable} not set)"));
        table.AddRow("devices", Markup.Escape(DeviceList()));
        table.AddRow("torch threads", Markup.Escape(TorchThreads()));
        using (var a = torch.tensor(new float[] { 1, 2, 3, 4 }).reshape(2, 2))
        using (var p = a.matmul(a))
            table.AddRow("matmul", Markup.Escape($"[[1,2],[3,4]]^2 = {string.Join(",", p.data<float>().ToArray())}"));

        try
        {
            var started = DateTime.UtcNow;
            await using var silo = await EmbeddedSilo.StartAsync(cancellationToken: cancellationToken);
            var hosts = await silo.Client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
            var address = hosts.Keys.Single();
            SiloReport report = await silo.Client.GetGrain<ISiloInfoGrain>(SiloKey.For(address)).GetReportAsync();
            table.AddRow("embedded silo", Markup.Escape(
                $"{report.Silo} answered in {(DateTime.UtcNow - started).TotalSeconds:F1} s (pid {report.ProcessId}, devices {string.Join(",", report.Devices)})"));
        }
        catch (Exception e)
        {
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"[red]embedded silo failed: {Markup.Escape(e.GetBaseException().Message)}[/]");
            return 3;
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine("[green]all checks passed[/]");
        return 0;
    }

    /// <summary>What each kind of thread runs libtorch on: the process-wide count alone (1, TorchRuntime) says only what a
    /// thread that is not a model thread gets.</summary>
    static string TorchThreads()
    {
        var automatic = new TreePO.Engine.EngineOptions();
        int narrow = automatic.ThreadsFor(TreePO.Engine.EngineOptions.ParallelHiddenSize - 1);
        int wide = automatic.ThreadsFor(TreePO.Engine.EngineOptions.ParallelHiddenSize);
        return $"engine {narrow} (models narrower than hidden size {TreePO.Engine.EngineOptions.ParallelHiddenSize}, as the built-in one) or " +
            $"{wide} (wider), trainer {TreePO.Engine.Threading.ModelThread.ThreadsFor(0)} (Engine:Threads, Trainer:TorchThreads); other threads " +
            $"{torch.get_num_threads()}; {Environment.ProcessorCount} cores";
    }

    /// <summary>The devices engines can be placed on (Engine:Devices), as TorchSharp sees them.</summary>
    static string DeviceList()
    {
        var gpus = DeviceName.CudaDevices();
        if (gpus.Count > 0) return $"cpu, {string.Join(", ", gpus)}";
        return ExternalTorch.Loaded is null
            ? "cpu (CUDA needs a CUDA libtorch: docs/deploy.md, \"Engines on GPUs\")"
            : "cpu (the libtorch loaded sees no CUDA device)";
    }
}
