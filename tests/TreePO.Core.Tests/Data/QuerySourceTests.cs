using TreePO.Core.Data;
using TreePO.Core.Tasks;
using TreePO.Testing;
using P = TreePO.Testing.ParquetDatasets.Problem;

namespace TreePO.Core.Tests.Data;

/// <summary>The training stream over a Parquet dataset: seeded epochs, and a cursor that resumes it exactly.</summary>
public sealed class QuerySourceTests : IDisposable
{
    readonly string _dir = TreePO.Testing.ScratchFolders.Create("treepo-source-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>Tokens stand for the question's characters; chat messages add one token for each turn.</summary>
    sealed class CharEncoder : IPromptEncoder
    {
        public int[] Encode(TaskItem item) => [.. item.Question.Select(c => (int)c), .. (item.Messages ?? []).Select(_ => 0)];
    }

    [Fact]
    public async Task A_resumed_stream_draws_what_the_uninterrupted_one_draws()
    {
        string path = Path.Combine(_dir, "train.parquet");
        await ParquetDatasets.WriteVerlAsync(path, Enumerable.Range(0, 7).Select(i => new P($"{i}+{i}=?", $"{2 * i}")).ToList());
        var fields = DatasetFields.For(DatasetFormat.Verl);

        var whole = await QuerySource.OpenAsync(path, fields, 1, seed: 5, new CharEncoder(), maxPromptTokens: 100);
        var all = Enumerable.Range(0, 5).SelectMany(_ => whole.Next(3)).Select(q => q.Id).ToList();

        var first = await QuerySource.OpenAsync(path, fields, 1, seed: 5, new CharEncoder(), maxPromptTokens: 100);
        var before = Enumerable.Range(0, 2).SelectMany(_ => first.Next(3)).Select(q => q.Id).ToList();
        var resumed = await QuerySource.OpenAsync(path, fields, 1, seed: 5, new CharEncoder(), maxPromptTokens: 100);
        resumed.Cursor = first.Cursor;
        var after = Enumerable.Range(0, 3).SelectMany(_ => resumed.Next(3)).Select(q => q.Id).ToList();

        Assert.Equal(all, before.Concat(after));
        Assert.Equal(7, all.Take(7).Distinct().Count());   // an epoch visits every row once
        Assert.Equal(5 + 1, whole.Next(1)[0].PromptTokens.Length);   // "k+k=?" and one user turn
        var other = await QuerySource.OpenAsync(path, fields, 1, seed: 6, new CharEncoder(), maxPromptTokens: 100);
        Assert.NotEqual(all, Enumerable.Range(0, 5).SelectMany(_ => other.Next(3)).Select(q => q.Id));
    }

    /// <summary>DAPO oversampling's give-back: the queries after the kept ones, and the length skips met drawing them,
    /// go back, so the next draw starts with the first query given back.</summary>
    [Fact]
    public async Task Queries_given_back_are_drawn_again_next()
    {
        string path = Path.Combine(_dir, "give.parquet");
        // Row 3's prompt is too long: it is skipped, and counted once, however often it is drawn past.
        var rows = Enumerable.Range(0, 6).Select(i => new P(i == 3 ? new string('x', 50) : $"{i}+{i}=?", $"{2 * i}")).ToList();
        await ParquetDatasets.WriteVerlAsync(path, rows);
        var fields = DatasetFields.For(DatasetFormat.Verl);
        var source = await QuerySource.OpenAsync(path, fields, 1, seed: 5, new CharEncoder(), maxPromptTokens: 20);
        var reference = await QuerySource.OpenAsync(path, fields, 1, seed: 5, new CharEncoder(), maxPromptTokens: 20);
        var expected = reference.Next(5).Select(q => q.Id).ToList();

        var drawn = source.Draw(4);
        Assert.Equal(expected.Take(4), drawn.Queries.Select(q => q.Id));
        Assert.Equal(5, drawn.Ends.Count);
        Assert.Equal(3, source.GiveBackAfter(drawn, kept: 1));
        Assert.Equal(drawn.Ends[1].Cursor, source.Cursor);
        Assert.Equal(expected.Skip(1).Take(4), source.Next(4).Select(q => q.Id));
        Assert.Equal(reference.SkippedPrompts, source.SkippedPrompts);
        Assert.Equal(0, source.GiveBackAfter(source.Draw(2), kept: 2));
    }

    [Fact]
    public async Task A_dataset_without_a_usable_row_is_refused_with_the_first_problem()
    {
        string path = Path.Combine(_dir, "train.parquet");
        await ParquetDatasets.WriteGsm8kAsync(path, [new P("q", "")]);
        var e = await Assert.ThrowsAsync<ArgumentException>(() =>
            QuerySource.OpenAsync(path, DatasetFields.For(DatasetFormat.Gsm8k), 1, 1, new CharEncoder(), 100));
        Assert.Equal($"dataset {path} has no usable row (1 skipped; first: {path}: row 1: field 'answer' has no '#### answer' (GSM8K style))", e.Message);
    }
}
