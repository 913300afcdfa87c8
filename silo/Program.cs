using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TreePO.Hosting;
using TreePO.Hosting.Clustering;
using TreePO.Hosting.Models;
using TreePO.Hosting.Options;
using TreePO.Hosting.Processes;

// A silo that joins a TreePO cluster: `dotnet run --project silo -- [--key=value ...]`. Options come from
// appsettings.json in the working directory, TREEPO__* environment variables and --key=value overrides
// (docs/configuration.md); a bad key stops the silo before it starts, with every problem named.
// Ctrl+C (SIGINT) or SIGTERM stops it gracefully: the host leaves the membership table before exiting, so the rest
// of the cluster does not wait for a failure detection. That stop is bounded (Cluster:ShutdownTimeout, ShutdownGuard):
// a silo whose membership store is gone stops ungracefully, then exits anyway, with code 4; a second signal exits
// at once. With --cluster.dashboard.enabled=true it also serves the
// Orleans Dashboard on 127.0.0.1:8080 (Cluster:Dashboard; docs/deploy.md); with --telemetry.prometheus=true and/or
// --telemetry.health=true, /metrics and /health/* on 127.0.0.1:9464 (Telemetry; docs/deploy.md). Exit code 3: the
// model did not load (before joining).
if (TreePO.Engine.Native.ExternalTorch.TryLoadConfigured() is { } torchError)   // before anything touches TorchSharp
{
    Console.Error.WriteLine(torchError);
    return 2;
}
TreePOOptions options;
var (_, stray) = TreePOConfiguration.SplitOverrides(args);
var strayErrors = stray.Select(a => $"{a}: not an option override (expected --section.key=value)").ToList();
try
{
    options = TreePOConfiguration.Load(args);
    if (strayErrors.Count > 0) throw new TreePOOptionsException(strayErrors);
}
catch (TreePOOptionsException e)
{
    Console.Error.WriteLine(strayErrors.Count > 0 && !e.Errors.SequenceEqual(strayErrors)
        ? new TreePOOptionsException([.. e.Errors, .. strayErrors]).Message : e.Message);
    return 2;
}

// The model loads and is checked before the silo joins: a wrong Model:Path stops it here, with the folder named, instead
// of a silo that joins and fails its share of trees.
ModelIdentity model;
try
{
    model = ModelCheck.Run(options);
}
catch (ModelFolderException e)
{
    Console.Error.WriteLine($"treepo-silo: {e.Message}; not joining the cluster");
    return 3;
}
Console.WriteLine($"model {model.Folder} checked in {model.CheckTime.TotalSeconds:F1} s (hash {model.ShortHash})");

var builder = DashboardHosting.CreateBuilder(options);   // a web host only with the dashboard on
builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
builder.Logging.SetMinimumLevel(LogLevel.Information);
builder.Logging.AddFilter("Orleans", LogLevel.Warning);
builder.Logging.AddFilter("Polly", LogLevel.Warning);   // Orleans' placement retries log every attempt at Information
builder.Logging.AddFilter("Orleans.Runtime.Silo", LogLevel.Error);   // the ServerGC note is noise here
var guard = ShutdownGuard.Install(options.Cluster.ShutdownTimeout);   // not disposed: it bounds the process to its exit
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownGuard.GracefulShare(options.Cluster.ShutdownTimeout));
builder.UseOrleans(silo =>
{
    silo.UseTreePOClustering(options);
    silo.AddTreePO(options, model);
    DashboardHosting.AddDashboard(silo, options);
});
var host = DashboardHosting.Build(builder, options);
return await guard.RunAsync(host);   // starts, waits for a signal, stops within the limit, disposes
