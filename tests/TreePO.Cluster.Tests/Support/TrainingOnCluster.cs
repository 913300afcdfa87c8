using System.Text.RegularExpressions;
using TreePO.Testing;

namespace TreePO.Cluster.Tests.Support;

/// <summary>The small training run the real-process training tests share: two silos started together, then `treepo
/// train --cluster` (16 queries of w=4 d=2 l=8 a step, 8 held-out queries, seed 3) writing runs/NAME under the
/// cluster's work folder; the silos told apart by where the run and its trainer live.</summary>
public static partial class TrainingOnCluster
{
    public sealed record Started(ChildProcess Client, ChildProcess RunSilo, ChildProcess Other, string RunDir);

    public static async Task<Started> StartAsync(ProcessCluster cluster, string name, int steps, int checkpointEvery, params string[] siloOverrides)
    {
        var a = cluster.StartSilo("silo-a", siloOverrides);
        var b = cluster.StartSilo("silo-b", siloOverrides);
        await a.WaitForOutputAsync("Application started", TimeSpan.FromSeconds(90));
        await b.WaitForOutputAsync("Application started", TimeSpan.FromSeconds(90));
        string runs = Path.Combine(cluster.WorkDir, "runs");
        var client = cluster.StartClient("train", "train", "--cluster", "--name", name, "--runs", runs,
            "--steps", $"{steps}", "--queries", "16", "-w", "4", "-d", "2", "-l", "8",
            "--eval-every", "0", "--eval-queries", "8", "-k", "2", "--checkpoint-every", $"{checkpointEvery}", "--seed", "3");
        await client.WaitForOutputAsync("run and trainer on silo", TimeSpan.FromSeconds(120));
        int runPort = int.Parse(RunSilo().Match(client.Output).Groups[1].Value);
        Assert.Contains(runPort, new[] { cluster.SiloPort(a), cluster.SiloPort(b) });
        var (runSilo, other) = cluster.SiloPort(a) == runPort ? (a, b) : (b, a);
        return new Started(client, runSilo, other, Path.Combine(runs, name));
    }

    /// <summary>Waits until the run has logged <paramref name="step"/> in its metrics.jsonl. Not the client's progress
    /// line: the client polls the run's status, and a run faster than its polls skips a step there (CI saw "step 0/4"
    /// followed by "step 2/4").</summary>
    public static Task StepLoggedAsync(string runDir, int step, TimeSpan timeout) =>
        Eventually.TrueAsync(() => LoggedSteps(runDir).Contains(step), timeout, $"step {step} in {runDir}/metrics.jsonl", pollMs: 50);

    /// <summary>The steps metrics.jsonl holds so far (a line still being written is skipped).</summary>
    static List<int> LoggedSteps(string runDir)
    {
        string path = Path.Combine(runDir, "metrics.jsonl");
        if (!File.Exists(path)) return [];
        var steps = new List<int>();
        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
        while (reader.ReadLine() is { } line)
        {
            try
            {
                using var doc = System.Text.Json.JsonDocument.Parse(line);
                if (doc.RootElement.TryGetProperty("step", out var s) && s.TryGetInt32(out int n)) steps.Add(n);
            }
            catch (System.Text.Json.JsonException) { }
        }
        return steps;
    }

    [GeneratedRegex(@"run and trainer on silo 127\.0\.0\.1:(\d+)")]
    private static partial Regex RunSilo();
}
