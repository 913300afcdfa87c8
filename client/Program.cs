using Spectre.Console.Cli;
using TreePO.Client.Commands;

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("treepo");
    config.AddCommand<DoctorCommand>("doctor")
        .WithDescription("Check .NET, TorchSharp and its native library, and an embedded Orleans silo.");
});
return await app.RunAsync(args);
