using Orleans.Runtime;
using TreePO.Cluster.Tests.Support;
using TreePO.Hosting.Clustering.Postgres;

namespace TreePO.Cluster.Tests;

/// <summary>
/// Orleans' reminder-table contract on <see cref="PostgresReminderTable"/> (a run's recovery reminder with postgres
/// clustering), against a real PostgreSQL: what one silo registers another reads, by grain and by ring range
/// (wrapping ranges included); an upsert returns a new etag; a removal needs the current one; service ids are apart.
/// </summary>
public sealed class PostgresReminderTableTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>, IAsyncLifetime
{
    static readonly DateTime T0 = new(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);
    readonly List<PostgresReminderTable> tables = [];
    readonly string serviceId = "svc-" + Guid.NewGuid().ToString("N")[..8];

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var t in tables) await t.DisposeAsync();
    }

    async Task<PostgresReminderTable> TableAsync(string? service = null)
    {
        var t = new PostgresReminderTable(postgres.Server.Connection(), service ?? serviceId);
        tables.Add(t);
        await t.StartAsync(CancellationToken.None);
        return t;
    }

    static GrainId Run(string name) => GrainId.Create("run", name);

    static ReminderEntry Entry(GrainId grain, string name = "treepo-run-recovery", int periodSeconds = 60) =>
        new() { GrainId = grain, ReminderName = name, StartAt = T0, Period = TimeSpan.FromSeconds(periodSeconds) };

    [Fact]
    public async Task What_one_silo_registers_another_reads_and_an_upsert_changes_the_etag()
    {
        var grain = Run("orphan-" + Guid.NewGuid().ToString("N")[..6]);
        var writer = await TableAsync();
        Assert.Null(await writer.ReadRow(grain, "treepo-run-recovery", CancellationToken.None));

        string? first = await writer.UpsertRow(Entry(grain), CancellationToken.None);
        var read = await (await TableAsync()).ReadRow(grain, "treepo-run-recovery", CancellationToken.None);
        Assert.NotNull(read);
        Assert.Equal((grain, "treepo-run-recovery", T0, TimeSpan.FromMinutes(1), first), (read.GrainId, read.ReminderName, read.StartAt, read.Period, read.ETag));
        Assert.Equal(DateTimeKind.Utc, read.StartAt.Kind);

        string? second = await writer.UpsertRow(Entry(grain, periodSeconds: 5), CancellationToken.None);
        Assert.NotEqual(first, second);
        var rows = (await writer.ReadRows(grain, CancellationToken.None)).Reminders;
        var only = Assert.Single(rows);
        Assert.Equal((TimeSpan.FromSeconds(5), second), (only.Period, only.ETag));
    }

    [Fact]
    public async Task A_removal_needs_the_current_etag()
    {
        var grain = Run("removed-" + Guid.NewGuid().ToString("N")[..6]);
        var table = await TableAsync();
        string? stale = await table.UpsertRow(Entry(grain), CancellationToken.None);
        string? current = await table.UpsertRow(Entry(grain), CancellationToken.None);
        Assert.False(await table.RemoveRow(grain, "treepo-run-recovery", stale!, CancellationToken.None));
        Assert.NotNull(await table.ReadRow(grain, "treepo-run-recovery", CancellationToken.None));
        Assert.True(await table.RemoveRow(grain, "treepo-run-recovery", current!, CancellationToken.None));
        Assert.Null(await table.ReadRow(grain, "treepo-run-recovery", CancellationToken.None));
        Assert.False(await table.RemoveRow(grain, "treepo-run-recovery", current!, CancellationToken.None));
    }

    [Fact]
    public async Task Ranges_are_read_by_uniform_hash_exclusive_below_inclusive_above_and_wrap()
    {
        var table = await TableAsync();
        var grains = Enumerable.Range(0, 24).Select(i => Run($"ranged-{i}-{Guid.NewGuid():N}")).ToList();
        foreach (var g in grains) await table.UpsertRow(Entry(g), CancellationToken.None);
        var hashes = grains.ToDictionary(g => g, g => g.GetUniformHashCode());
        uint low = hashes.Values.Order().ElementAt(6), high = hashes.Values.Order().ElementAt(17);

        async Task<HashSet<GrainId>> Read(uint begin, uint end) =>
            [.. (await table.ReadRows(begin, end, CancellationToken.None)).Reminders.Select(r => r.GrainId)];

        Assert.Equal([.. grains.Where(g => hashes[g] > low && hashes[g] <= high)], await Read(low, high));
        Assert.Equal([.. grains.Where(g => hashes[g] > high || hashes[g] <= low)], await Read(high, low));   // wraps around the ring
        Assert.Equal([.. grains], await Read(low, low));   // the whole ring: one silo owns it
        var otherService = await TableAsync("other-" + serviceId);
        Assert.Empty((await otherService.ReadRows(low, low, CancellationToken.None)).Reminders);
    }
}
