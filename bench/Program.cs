// `dotnet run --project bench -c Release -- NAME [options]`: each benchmark measures its figures side by side in one
// process, prints a table and writes NAME.json. The benchmarks and their options: BenchApp.
// Logs and CI: whole lines, no escape sequences (Spectre would wrap at 80 columns without a terminal).
TreePO.Client.PlainOutput.Configure();
return await TreePO.Bench.BenchApp.RunAsync(args);
