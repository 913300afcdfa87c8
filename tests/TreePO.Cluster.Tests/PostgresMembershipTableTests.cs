using System.Net;
using Npgsql;
using Orleans.Runtime;
using TreePO.Cluster.Tests.Support;
using TreePO.Hosting.Clustering.Postgres;

namespace TreePO.Cluster.Tests;

/// <summary>One PostgreSQL server (fresh data directory and database) for the contract tests of a class.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    public PostgresServer Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Server = await PostgresServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (Server is not null) await Server.DisposeAsync();
    }
}

/// <summary>
/// Orleans' membership-table contract on <see cref="PostgresMembershipTable"/>, against a real PostgreSQL: writes
/// succeed only at the next table version with the current etags, all or nothing; concurrent writers at one version
/// produce exactly one winner; heartbeats leave versions and etags alone; defunct rows are cleaned up. Each test uses
/// its own cluster id in the class's database.
/// </summary>
public sealed class PostgresMembershipTableTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>, IAsyncLifetime
{
    static readonly DateTime T0 = new(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);
    readonly List<PostgresMembershipTable> tables = [];
    readonly string clusterId = "c-" + Guid.NewGuid().ToString("N")[..8];

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var t in tables) await t.DisposeAsync();
    }

    async Task<PostgresMembershipTable> TableAsync(string? connection = null, string? cluster = null)
    {
        var table = new PostgresMembershipTable(connection ?? postgres.Server.Connection(), "treepo-tests", cluster ?? clusterId);
        tables.Add(table);
        await table.InitializeMembershipTable(true);
        return table;
    }

    static MembershipEntry Entry(int port, SiloStatus status = SiloStatus.Active, int generation = 1) => new()
    {
        SiloAddress = SiloAddress.New(IPAddress.Loopback, port, generation),
        SiloName = $"silo-{port}",
        HostName = "host-a",
        Status = status,
        ProxyPort = port + 1000,
        UpdateZone = 2,
        FaultZone = 3,
        SuspectTimes = [],
        StartTime = T0,
        IAmAliveTime = T0.AddSeconds(1),
    };

    [Fact]
    public async Task A_new_table_is_at_version_zero_and_an_insert_round_trips_every_field()
    {
        var table = await TableAsync();
        var empty = await table.ReadAll();
        Assert.Equal(0, empty.Version.Version);
        Assert.Empty(empty.Members);

        var entry = Entry(2001);
        entry.SuspectTimes = [Tuple.Create(SiloAddress.New(IPAddress.Parse("10.0.0.7"), 11111, 42), T0.AddSeconds(3))];
        Assert.True(await table.InsertRow(entry, empty.Version.Next()));

        var read = await table.ReadAll();
        Assert.Equal(1, read.Version.Version);
        Assert.NotEqual(empty.Version.VersionEtag, read.Version.VersionEtag);
        var (got, etag) = Assert.Single(read.Members);
        Assert.False(string.IsNullOrEmpty(etag));
        Assert.Equal(entry.SiloAddress, got.SiloAddress);
        Assert.Equal((entry.SiloName, entry.HostName, entry.Status, entry.ProxyPort, entry.UpdateZone, entry.FaultZone),
            (got.SiloName, got.HostName, got.Status, got.ProxyPort, got.UpdateZone, got.FaultZone));
        Assert.Equal((entry.StartTime, entry.IAmAliveTime), (got.StartTime, got.IAmAliveTime));
        var vote = Assert.Single(got.SuspectTimes!);
        Assert.Equal(entry.SuspectTimes![0].Item1, vote.Item1);
        Assert.Equal(entry.SuspectTimes[0].Item2, vote.Item2);

        var row = await table.ReadRow(entry.SiloAddress);   // one row, with the same version
        Assert.Equal(read.Version, row.Version);
        Assert.Equal(etag, Assert.Single(row.Members).Item2);
        Assert.Empty((await table.ReadRow(SiloAddress.New(IPAddress.Loopback, 2999, 1))).Members);
    }

    [Fact]
    public async Task An_insert_with_a_stale_version_or_etag_fails_and_changes_nothing()
    {
        var table = await TableAsync();
        var v0 = (await table.ReadAll()).Version;
        Assert.True(await table.InsertRow(Entry(2001), v0.Next()));
        var v1 = (await table.ReadAll()).Version;

        Assert.False(await table.InsertRow(Entry(2002), v0.Next()));                          // stale: version 1 again, old etag
        Assert.False(await table.InsertRow(Entry(2002), new TableVersion(2, v0.VersionEtag))); // right number, old etag
        Assert.False(await table.InsertRow(Entry(2002), new TableVersion(3, v1.VersionEtag))); // current etag, skips a version
        Assert.False(await table.InsertRow(Entry(2001), v1.Next()));                          // the silo is there already

        var after = await table.ReadAll();
        Assert.Equal(v1, after.Version);   // the failed duplicate insert did not advance it either
        Assert.Single(after.Members);
        Assert.True(await table.InsertRow(Entry(2002), v1.Next()));
        Assert.Equal(2, (await table.ReadAll()).Members.Count);
    }

    [Fact]
    public async Task An_update_needs_the_row_etag_and_the_next_version()
    {
        var table = await TableAsync();
        Assert.True(await table.InsertRow(Entry(2001), (await table.ReadAll()).Version.Next()));
        var read = await table.ReadAll();
        var (entry, etag) = read.Members[0];
        entry.Status = SiloStatus.ShuttingDown;

        Assert.False(await table.UpdateRow(entry, "not-the-etag", read.Version.Next()));
        Assert.False(await table.UpdateRow(entry, etag, read.Version));   // not the next version
        Assert.False(await table.UpdateRow(Entry(2002), etag, read.Version.Next()));   // no such row
        Assert.Equal(read.Version, (await table.ReadAll()).Version);

        Assert.True(await table.UpdateRow(entry, etag, read.Version.Next()));
        var after = await table.ReadAll();
        Assert.Equal(read.Version.Version + 1, after.Version.Version);
        var (updated, newEtag) = Assert.Single(after.Members);
        Assert.Equal(SiloStatus.ShuttingDown, updated.Status);
        Assert.NotEqual(etag, newEtag);

        entry.Status = SiloStatus.Dead;   // the old row etag is spent, even at the right version
        Assert.False(await table.UpdateRow(entry, etag, after.Version.Next()));
        Assert.True(await table.UpdateRow(entry, newEtag, after.Version.Next()));
    }

    [Fact]
    public async Task Concurrent_inserts_at_the_same_version_have_exactly_one_winner()
    {
        // Separate table instances have separate connection pools: the writers really run at once, as silos do.
        var writers = new List<PostgresMembershipTable>();
        for (int i = 0; i < 8; i++) writers.Add(await TableAsync());
        var version = (await writers[0].ReadAll()).Version.Next();

        using var start = new ManualResetEventSlim();
        var attempts = writers.Select((t, i) => Task.Run(() => { start.Wait(); return t.InsertRow(Entry(3000 + i), version); })).ToArray();
        start.Set();
        bool[] won = await Task.WhenAll(attempts);

        Assert.Equal(1, won.Count(w => w));
        var after = await writers[0].ReadAll();
        Assert.Equal(1, after.Version.Version);
        Assert.Equal(3000 + Array.IndexOf(won, true), Assert.Single(after.Members).Item1.SiloAddress.Endpoint.Port);
    }

    [Fact]
    public async Task IAmAlive_updates_the_heartbeat_only()
    {
        var table = await TableAsync();
        Assert.True(await table.InsertRow(Entry(2001), (await table.ReadAll()).Version.Next()));
        var before = await table.ReadAll();
        var (entry, etag) = before.Members[0];

        entry.IAmAliveTime = T0.AddMinutes(5);
        entry.Status = SiloStatus.Dead;   // not written by a heartbeat
        await table.UpdateIAmAlive(entry);

        var after = await table.ReadAll();
        Assert.Equal(before.Version, after.Version);
        var (got, gotEtag) = Assert.Single(after.Members);
        Assert.Equal(T0.AddMinutes(5), got.IAmAliveTime);
        Assert.Equal(SiloStatus.Active, got.Status);
        Assert.Equal(etag, gotEtag);
        Assert.True(await table.UpdateRow(got, etag, after.Version.Next()));   // what was read before the heartbeat still holds
    }

    [Fact]
    public async Task Cleanup_removes_only_dead_rows_untouched_since_the_date()
    {
        var table = await TableAsync();
        var cutoff = T0.AddHours(1);
        var defunct = Entry(2001, SiloStatus.Dead);
        var recentHeartbeat = Entry(2002, SiloStatus.Dead);
        recentHeartbeat.IAmAliveTime = cutoff.AddMinutes(1);
        var recentVote = Entry(2003, SiloStatus.Dead);
        recentVote.SuspectTimes = [Tuple.Create(defunct.SiloAddress, cutoff.AddMinutes(1))];
        var alive = Entry(2004, SiloStatus.Active);
        var oldGeneration = Entry(2005, SiloStatus.Dead, generation: 1);
        var restarted = Entry(2005, SiloStatus.Active, generation: 2);
        foreach (var e in new[] { defunct, recentHeartbeat, recentVote, alive, oldGeneration, restarted })
            Assert.True(await table.InsertRow(e, (await table.ReadAll()).Version.Next()));

        await table.CleanupDefunctSiloEntries(new DateTimeOffset(cutoff));

        var left = (await table.ReadAll()).Members.Select(m => m.Item1.SiloAddress).ToHashSet();
        Assert.Equal(new[] { recentHeartbeat, recentVote, alive, restarted }.Select(e => e.SiloAddress).ToHashSet(), left);
    }

    [Fact]
    public async Task Clusters_are_separate_and_deleting_one_removes_its_rows_and_version()
    {
        var table = await TableAsync();
        var other = await TableAsync(cluster: clusterId + "-other");
        Assert.True(await table.InsertRow(Entry(2001), (await table.ReadAll()).Version.Next()));
        Assert.True(await other.InsertRow(Entry(2001), (await other.ReadAll()).Version.Next()));   // same silo, other cluster

        await table.DeleteMembershipTableEntries(clusterId);

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => table.ReadAll());
        Assert.Contains("no membership version row", e.Message);
        Assert.Single((await other.ReadAll()).Members);
        await table.InitializeMembershipTable(true);   // a silo starting again begins at version 0
        Assert.Equal(0, (await table.ReadAll()).Version.Version);
    }

    [Fact]
    public async Task Gateways_are_the_proxy_ports_of_active_silos()
    {
        var table = await TableAsync();
        foreach (var e in new[] { Entry(2001), Entry(2002, SiloStatus.Joining), Entry(2003, SiloStatus.Dead), Entry(2004) })
            Assert.True(await table.InsertRow(e, (await table.ReadAll()).Version.Next()));
        var noGateway = Entry(2005);
        noGateway.ProxyPort = 0;
        Assert.True(await table.InsertRow(noGateway, (await table.ReadAll()).Version.Next()));

        var gateways = await table.ReadGatewaysAsync();
        Assert.Equal([3001, 3004], gateways.Select(u => u.Port).Order());
        Assert.All(gateways, u => Assert.Equal("127.0.0.1", u.Host));
    }

    [Fact]
    public async Task Silos_starting_at_once_on_an_empty_database_all_apply_the_schema()
    {
        string fresh = await postgres.Server.CreateDatabaseAsync("fresh_" + Guid.NewGuid().ToString("N")[..8]);
        var client = new PostgresMembershipTable(fresh, "treepo-tests", clusterId);
        tables.Add(client);
        Assert.Empty(await client.ReadGatewaysAsync());   // before any silo: no tables yet, no gateways, no error

        var silos = Enumerable.Range(0, 6).Select(i => new PostgresMembershipTable(fresh, "treepo-tests", $"{clusterId}-{i}")).ToList();
        tables.AddRange(silos);
        await Task.WhenAll(silos.Select(s => Task.Run(() => s.InitializeMembershipTable(true))));
        foreach (var s in silos) Assert.Equal(0, (await s.ReadAll()).Version.Version);
    }

    [Fact]
    public async Task An_unreachable_database_is_reported_with_the_option_key()
    {
        int closed = FreePorts.Take(1)[0];
        var table = new PostgresMembershipTable($"Host=127.0.0.1;Port={closed};Username=postgres;Database=treepo;Timeout=5", "s", "c");
        tables.Add(table);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => table.InitializeMembershipTable(true));
        Assert.Contains("TreePO:Cluster:Postgres", e.Message);
        Assert.Contains($"127.0.0.1:{closed}/treepo", e.Message);
        Assert.IsAssignableFrom<NpgsqlException>(e.InnerException);
    }
}
