using Spectre.Console;

// `dotnet run --project bench -c Release -- NAME [options]`: each benchmark measures its figures side by side in one
// process, prints a table and writes NAME.json.
// Logs and CI: whole lines, no escape sequences (Spectre would wrap at 80 columns without a terminal).
TreePO.Client.PlainOutput.Configure();

var benchmarks = new Dictionary<string, Func<string[], Task<int>>>(StringComparer.OrdinalIgnoreCase)
{
    ["engine"] = TreePO.Bench.EngineBenchmark.RunAsync,
    ["cluster"] = TreePO.Bench.ClusterBenchmark.RunAsync,
    ["load"] = TreePO.Bench.LoadBenchmark.RunAsync,
    ["scaleout"] = TreePO.Bench.ScaleoutBenchmark.RunAsync,
    ["scale"] = TreePO.Bench.ScaleBenchmark.RunAsync,
    ["weightsync"] = TreePO.Bench.WeightSyncBenchmark.RunAsync,
};

benchmarks["sampling"] = TreePO.Bench.SamplingBenchmark.RunAsync;
benchmarks["sweep"] = TreePO.Bench.SweepBenchmark.RunAsync;
benchmarks["training"] = TreePO.Bench.TrainingBenchmark.RunAsync;
benchmarks["reward"] = TreePO.Bench.RewardBenchmark.RunAsync;
benchmarks["ablation"] = TreePO.Bench.AblationBenchmark.RunAsync;

if (args.Length == 0 || !benchmarks.TryGetValue(args[0], out var run))
{
    AnsiConsole.MarkupLine(args.Length == 0 ? "usage: bench NAME [options]" : $"[red]unknown benchmark '{Markup.Escape(args[0])}'[/]");
    AnsiConsole.MarkupLine("available: " + (benchmarks.Count == 0 ? "(none)" : string.Join(", ", benchmarks.Keys)));
    return args.Length == 0 ? 0 : 1;
}
return await run(args[1..]);
