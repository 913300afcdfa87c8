using TreePO.Core.Data;
using TreePO.Core.Tasks;

namespace TreePO.Hosting.Rollout;

/// <summary>The questions of a rollout, and the input rows that were skipped (each with its file and line).</summary>
public sealed record RolloutInput(string Source, IReadOnlyList<TaskItem> Items, IReadOnlyList<string> Skipped)
{
    /// <summary>A dataset file or folder (JSON lines or Parquet) with the given fields: bad rows are reported and
    /// skipped, duplicate ids too (a query id names its tree); the reader's notes come first.
    /// <paramref name="limit"/> &gt; 0 keeps the first that many good rows.</summary>
    public static RolloutInput FromDataset(string path, DatasetFields fields, int limit = 0)
    {
        var read = TaskDataset.Read(path, fields);
        var skipped = read.Notes.Concat(read.Errors.Select(e => e.ToString())).ToList();
        var items = new List<TaskItem>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in read.Items)
        {
            if (!seen.Add(item.Id)) { skipped.Add($"{Path.GetFileName(path)}: id '{item.Id}' appears more than once; later rows skipped"); continue; }
            if (limit > 0 && items.Count == limit) break;
            items.Add(item);
        }
        return new RolloutInput(path, items, skipped);
    }

    /// <summary>The first <paramref name="count"/> problems of the built-in task's held-out split.</summary>
    public static RolloutInput BuiltIn(ulong seed, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var task = new ArithmeticTask(seed);
        var items = Enumerable.Range(0, count).Select(i => task.Generate(TaskSplit.Test, i).ToItem()).ToList();
        return new RolloutInput($"built-in arithmetic task, held-out split (seed {seed})", items, []);
    }
}
