// `dotnet run --project bench -c Release -- NAME [options]`: each benchmark measures its figures side by side in one
// process, prints a table and writes NAME.json. The benchmarks and their options: BenchApp.
// Logs and CI: whole lines, no escape sequences (Spectre would wrap at 80 columns without a terminal).
TreePO.Client.PlainOutput.Configure();
// Before anything touches TorchSharp: a libtorch named by TREEPO_LIBTORCH must be the one it finds (docs/deploy.md).
if (TreePO.Engine.Native.ExternalTorch.TryLoadConfigured() is { } torchError)
{
    Console.Error.WriteLine(torchError);
    return 2;
}
return await TreePO.Bench.BenchApp.RunAsync(args);
