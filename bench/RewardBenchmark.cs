using System.ComponentModel;
using System.Diagnostics;
using Spectre.Console;
using Spectre.Console.Cli;
using TreePO.Bench.Common;
using TreePO.Core.Reward;
using TreePO.Core.Trees;

namespace TreePO.Bench;

/// <summary>
/// `bench reward`: scores the answer-equivalence table (tests/TreePO.Core.Tests/Reward/equivalence-cases.tsv) the
/// way `treepo score` does (each answer boxed in a response, the reference as the ground truth) with the reward and
/// with <see cref="LegacyMathReward"/>, and prints agreement per category, the false-positive traps accepted, how often
/// the two readings disagree, and the time to score the table (median of --repeat passes). With --trees FILE (a
/// `treepo rollout --out` trees.jsonl, or several comma-separated) it also scores every trajectory of those trees both
/// ways and counts the disagreements. Options: --cases FILE, --trees FILE[,FILE], --repeat N (5), --out reward.json.
/// </summary>
public sealed class RewardBenchmark : AsyncCommand<RewardBenchmark.Settings>
{
    public sealed class Settings : BenchSettings
    {
        [CommandOption("--cases <FILE>"), Description("The answer-equivalence table (default: the reward tests' table, copied beside the program).")]
        public string Cases { get; init; } = Path.Combine(AppContext.BaseDirectory, "Reward", "equivalence-cases.tsv");
        [CommandOption("--trees <FILE>"), Description("Also score every trajectory of these trees.jsonl files (comma-separated).")] public string Trees { get; init; } = "";
        [CommandOption("--repeat <N>"), Description("Timed passes over the table; the median is reported (default 5).")] public int Repeat { get; init; } = 5;
        [CommandOption("--out <FILE>")] public string Out { get; init; } = "reward.json";

        protected override void Check(List<string> problems) => AtLeast(problems, "--repeat", Repeat, 1);
    }

    public override Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        string casesPath = settings.Cases, trees = settings.Trees, outPath = settings.Out;
        int repeat = settings.Repeat;
        var errors = new List<string>();
        if (!File.Exists(casesPath)) errors.Add($"--cases: {casesPath} does not exist");
        string[] treeFiles = trees.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (string f in treeFiles) if (!File.Exists(f)) errors.Add($"--trees: {f} does not exist");
        if (errors.Count > 0) { foreach (var e in errors) AnsiConsole.MarkupLine($"[red]{Markup.Escape(e)}[/]"); return Task.FromResult(1); }

        IReadOnlyList<EquivalenceCase> cases;
        try { cases = EquivalenceCase.Load(casesPath); }
        catch (FormatException e) { AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]"); return Task.FromResult(1); }

        var machine = Machine.Describe(1);
        AnsiConsole.MarkupLine(Markup.Escape(machine.ToString()));
        var reward = MathReward.PlusMinusOne;
        var legacy = new LegacyMathReward();
        static string Response(EquivalenceCase c) => $"So the final answer is $\\boxed{{{c.Answer}}}$.";

        // Timing: the whole table through the reward, --repeat passes, the median reported (the first warms up).
        var times = new List<double>();
        bool[] verdicts = new bool[cases.Count];
        for (int r = 0; r < repeat; r++)
        {
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < cases.Count; i++) verdicts[i] = reward.Score(Response(cases[i]), cases[i].Reference).Correct;
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        double medianMs = Medians.Of(times);
        bool[] old = cases.Select(c => legacy.Score(Response(c), c.Reference).Correct).ToArray();

        var table = new Table().AddColumns("category", "cases", "reward agrees", "legacy agrees");
        var categories = cases.Select((c, i) => (c, i)).GroupBy(x => x.c.Category).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        var perCategory = new List<object>();
        foreach (var g in categories)
        {
            int n = g.Count(), agree = g.Count(x => verdicts[x.i] == x.c.Equivalent), oldAgree = g.Count(x => old[x.i] == x.c.Equivalent);
            table.AddRow(g.Key, n.ToString(), Percent(agree, n), Percent(oldAgree, n));
            perCategory.Add(new { category = g.Key, cases = n, agree, legacy_agree = oldAgree });
        }
        int total = cases.Count;
        int agreeAll = cases.Select((c, i) => verdicts[i] == c.Equivalent).Count(x => x);
        int oldAgreeAll = cases.Select((c, i) => old[i] == c.Equivalent).Count(x => x);
        int traps = cases.Count(c => c.Trap);
        int trapsAccepted = cases.Select((c, i) => c.Trap && verdicts[i]).Count(x => x);
        int oldTrapsAccepted = cases.Select((c, i) => c.Trap && old[i]).Count(x => x);
        int falsePositives = cases.Select((c, i) => !c.Equivalent && verdicts[i]).Count(x => x);
        int tableDisagree = verdicts.Zip(old).Count(p => p.First != p.Second);
        table.AddRow("[bold]all[/]", total.ToString(), Percent(agreeAll, total), Percent(oldAgreeAll, total));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"false-positive traps accepted: reward {trapsAccepted}/{traps}, legacy {oldTrapsAccepted}/{traps}; " +
                               $"reward false positives (all non-equivalent rows): {falsePositives}");
        AnsiConsole.MarkupLine($"old and new reward disagree on {tableDisagree}/{total} table rows ({Percent(tableDisagree, total)})");
        AnsiConsole.MarkupLine($"scoring the {total} cases: {medianMs:F1} ms (median of {repeat}; {medianMs * 1000 / total:F0} µs a case)");

        var treeResults = new List<object>();
        foreach (string f in treeFiles)
        {
            int trajectories = 0, correctDiffer = 0, rewardDiffer = 0, newCorrect = 0, oldCorrect = 0;
            using var reader = new StreamReader(f);
            foreach (SegmentTree tree in TreeJson.ReadAll(reader))
                foreach (Trajectory t in tree.Trajectories)
                {
                    string text = tree.ResponseText(t);
                    RewardResult rn = reward.Score(text, tree.Query.Answer, t.ResponseLength), ro = legacy.Score(text, tree.Query.Answer);
                    trajectories++;
                    if (rn.Correct) newCorrect++;
                    if (ro.Correct) oldCorrect++;
                    if (rn.Correct != ro.Correct) correctDiffer++;
                    if (rn.Reward != ro.Reward) rewardDiffer++;
                }
            AnsiConsole.MarkupLine(Markup.Escape($"{f}: {trajectories} trajectories; correct: reward {newCorrect}, legacy {oldCorrect}; " +
                                                 $"verdicts differ on {correctDiffer} ({Percent(correctDiffer, trajectories)}), scores on {rewardDiffer}"));
            treeResults.Add(new { file = f, trajectories, correct = newCorrect, legacy_correct = oldCorrect, verdicts_differ = correctDiffer, rewards_differ = rewardDiffer });
        }

        string path = BenchJson.Write(outPath, new
        {
            benchmark = "reward",
            machine = BenchJson.MachineJson(machine),
            cases = total,
            agree = agreeAll,
            legacy_agree = oldAgreeAll,
            traps,
            traps_accepted = trapsAccepted,
            legacy_traps_accepted = oldTrapsAccepted,
            false_positives = falsePositives,
            table_disagreements = tableDisagree,
            median_ms = medianMs,
            per_category = perCategory,
            trees = treeResults,
        });
        AnsiConsole.MarkupLine($"wrote {Markup.Escape(path)}");
        return Task.FromResult(trapsAccepted == 0 ? 0 : 3);
    }

    static string Percent(int part, int whole) => whole == 0 ? "-" : $"{100.0 * part / whole:F1} %";
}
