using Microsoft.Extensions.Hosting;
using TreePO.Hosting;

// A silo that joins a TreePO cluster. Ctrl+C (SIGINT) or SIGTERM stops it gracefully: the host leaves the
// membership table before exiting, so the rest of the cluster does not wait for a failure detection.
var builder = Host.CreateApplicationBuilder(args);
builder.UseOrleans(silo =>
{
    silo.UseLocalhostClustering();
    silo.AddTreePO();
});
await builder.Build().RunAsync();
