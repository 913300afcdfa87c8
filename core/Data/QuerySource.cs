using TreePO.Core.Protocol;
using TreePO.Core.Tasks;
using TreePO.Core.Trees;

namespace TreePO.Core.Data;

/// <summary>
/// A run's stream of training queries with a cursor that a checkpoint saves. The built-in task is an endless sequence
/// (problem i of the train split is a function of the task seed); a dataset file is read once (bad rows reported with
/// file and line, counted, skipped) and visited epoch by epoch, each epoch in an order seeded by (run seed, epoch).
/// Prompts that do not fit the model next to the response budget are skipped and counted. The cursor alone fixes
/// the rest of the stream (the rows are read in the same order on resume), so a resumed run draws what it would have.
/// </summary>
public sealed class QuerySource
{
    readonly ArithmeticTask? task;
    readonly IReadOnlyList<TaskItem> items;
    readonly ulong seed;
    readonly IPromptEncoder encoder;
    readonly int maxPromptTokens;
    readonly string origin;
    int[]? order;
    long orderEpoch = -1;

    QuerySource(ArithmeticTask? task, IReadOnlyList<TaskItem> items, string origin, ulong seed, IPromptEncoder encoder, int maxPromptTokens)
    {
        (this.task, this.items, this.origin, this.seed, this.encoder, this.maxPromptTokens) = (task, items, origin, seed, encoder, maxPromptTokens);
    }

    /// <summary>The built-in task's train split (<paramref name="dataPath"/> null), or a dataset file or folder read
    /// with <paramref name="fields"/>; a dataset with no usable row is refused with the first skipped row named.</summary>
    public static async Task<QuerySource> OpenAsync(string? dataPath, DatasetFields? fields, int taskLevel, ulong seed, IPromptEncoder encoder,
        int maxPromptTokens, CancellationToken cancellationToken = default)
    {
        if (dataPath is null)
            return new QuerySource(new ArithmeticTask(seed, ArithmeticDifficulty.Level(taskLevel)), [], $"built-in task (level {taskLevel})",
                seed, encoder, maxPromptTokens);
        var read = await TaskDataset.ReadAsync(dataPath, fields, cancellationToken);
        if (read.Items.Count == 0)
            throw new ArgumentException($"dataset {dataPath} has no usable row ({read.Errors.Count} skipped" +
                (read.Errors.Count > 0 ? $"; first: {read.Errors[0]}" : "") + ")");
        return new QuerySource(null, read.Items, dataPath, seed, encoder, maxPromptTokens)
        {
            RowErrors = read.Errors.Select(e => e.ToString()).ToList(),
            Notes = read.Notes,
        };
    }

    /// <summary>Dataset rows skipped at reading, each "file:line: why".</summary>
    public IReadOnlyList<string> RowErrors { get; private init; } = [];

    /// <summary>What the reader noted about the files (a Parquet file under a JSON-lines name, or the reverse).</summary>
    public IReadOnlyList<string> Notes { get; private init; } = [];

    /// <summary>Position in the query stream: the next query drawn is number <see cref="Cursor"/>.</summary>
    public long Cursor { get; set; }

    /// <summary>Prompts skipped for length so far, each "where: why".</summary>
    public List<string> SkippedPrompts { get; } = [];

    /// <summary>The next <paramref name="count"/> queries that fit, advancing the cursor.</summary>
    public List<QueryItem> Next(int count)
    {
        var result = new List<QueryItem>(count);
        int misses = 0;
        while (result.Count < count)
        {
            var (item, where) = At(Cursor++);
            if (TryEncode(item, where, out var query)) { result.Add(query); misses = 0; }
            else if (++misses > 1000) throw new InvalidOperationException($"{origin}: 1000 prompts in a row are too long for the model");
        }
        return result;
    }

    /// <summary>The next <paramref name="count"/> queries, one at a time so that where each ends in the stream is known:
    /// DAPO's oversampling gives back the ones after the query that filled the batch.</summary>
    public DrawnQueries Draw(int count)
    {
        var queries = new List<QueryItem>(count);
        var ends = new List<(long Cursor, int Skipped)>(count + 1) { (Cursor, SkippedPrompts.Count) };
        for (int i = 0; i < count; i++)
        {
            queries.AddRange(Next(1));
            ends.Add((Cursor, SkippedPrompts.Count));
        }
        return new DrawnQueries(queries, ends);
    }

    /// <summary>Puts back every query of <paramref name="drawn"/> after the first <paramref name="kept"/> (and the
    /// length skips met drawing them), so that the next draw and a checkpoint's cursor start there; returns how many
    /// went back.</summary>
    public int GiveBackAfter(DrawnQueries drawn, int kept)
    {
        int back = drawn.Queries.Count - kept;
        if (back <= 0) return 0;
        var (cursor, skipped) = drawn.Ends[kept];
        Cursor = cursor;
        SkippedPrompts.RemoveRange(skipped, SkippedPrompts.Count - skipped);
        return back;
    }

    bool TryEncode(TaskItem item, string where, out QueryItem query)
    {
        int[] tokens = encoder.Encode(item);
        query = new QueryItem(item.Id, item.Question, item.Answer, tokens);
        if (tokens.Length > 0 && tokens.Length <= maxPromptTokens) return true;
        SkippedPrompts.Add($"{where}: prompt of {tokens.Length} tokens does not fit (at most {maxPromptTokens} next to the response budget)");
        return false;
    }

    (TaskItem Item, string Where) At(long position)
    {
        if (task is not null)
            return (task.Generate(TaskSplit.Train, position).ToItem(), $"built-in train problem {position}");
        long epoch = position / items.Count;
        if (epoch != orderEpoch)
        {
            order = Enumerable.Range(0, items.Count).ToArray();
            new Random(SeedMix.ToInt32(SeedMix.Derive(seed, "data-epoch", epoch))).Shuffle(order);
            orderEpoch = epoch;
        }
        int index = order![position % items.Count];
        return (items[index], $"{origin}: row {items[index].Id}");
    }

    /// <summary>The held-out queries: the first <paramref name="count"/> of the built-in test split, or of a file.</summary>
    public static async Task<(List<QueryItem> Queries, List<string> Problems, IReadOnlyList<string> Notes)> HeldOutAsync(string? evalPath, DatasetFields? fields, int taskLevel,
        ulong taskSeed, int count, IPromptEncoder encoder, int maxPromptTokens, CancellationToken cancellationToken = default)
    {
        var problems = new List<string>();
        IReadOnlyList<string> notes = [];
        IEnumerable<(TaskItem, string)> source;
        if (evalPath is null)
        {
            var task = new ArithmeticTask(taskSeed, ArithmeticDifficulty.Level(taskLevel));
            source = task.Enumerate(TaskSplit.Test).Select((p, i) => (p.ToItem(), $"built-in test problem {i}"));
        }
        else
        {
            var read = await TaskDataset.ReadAsync(evalPath, fields, cancellationToken);
            notes = read.Notes;
            problems.AddRange(read.Errors.Select(e => e.ToString()));
            source = read.Items.Select(it => (it, $"{evalPath}: row {it.Id}"));
        }
        var queries = new List<QueryItem>();
        foreach (var (item, where) in source)
        {
            if (queries.Count >= count) break;
            int[] tokens = encoder.Encode(item);
            if (tokens.Length == 0 || tokens.Length > maxPromptTokens)
            {
                problems.Add($"{where}: prompt of {tokens.Length} tokens does not fit (at most {maxPromptTokens})");
                continue;
            }
            queries.Add(new QueryItem(item.Id, item.Question, item.Answer, tokens));
        }
        return (queries, problems, notes);
    }
}
