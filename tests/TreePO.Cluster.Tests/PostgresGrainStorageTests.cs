using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Serialization.Serializers;
using Orleans.Storage;
using TreePO.Cluster.Tests.Support;
using TreePO.Hosting.Clustering.Postgres;

namespace TreePO.Cluster.Tests;

[GenerateSerializer, Alias("TreePO.Cluster.Tests.StoredCounter")]
public sealed class StoredCounter
{
    [Id(0)] public int Value { get; set; }
    [Id(1)] public string Note { get; set; } = "";
}

/// <summary>Grain storage in PostgreSQL (tree snapshots with postgres clustering), against a real server: what one
/// silo writes another reads; a writer with a stale etag is refused; clearing deletes.</summary>
public sealed class PostgresGrainStorageTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>, IAsyncLifetime
{
    readonly ServiceProvider services = new ServiceCollection().AddSerializer().BuildServiceProvider();
    readonly List<PostgresGrainStorage> storages = [];
    readonly string serviceId = "svc-" + Guid.NewGuid().ToString("N")[..8];
    readonly GrainId grain = GrainId.Create("querytree", "batch/" + Guid.NewGuid().ToString("N")[..8]);

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var s in storages) await s.DisposeAsync();
        await services.DisposeAsync();
    }

    PostgresGrainStorage Storage(string? service = null)
    {
        var s = new PostgresGrainStorage(postgres.Server.Connection(), service ?? serviceId,
            new OrleansGrainStorageSerializer(services.GetRequiredService<Serializer>()), services.GetRequiredService<IActivatorProvider>());
        storages.Add(s);
        return s;
    }

    static GrainState<StoredCounter> State(int value = 0) => new(new StoredCounter { Value = value });

    [Fact]
    public async Task What_one_silo_writes_another_reads()
    {
        var missing = State(7);
        await Storage().ReadStateAsync("progress", grain, missing);
        Assert.False(missing.RecordExists);
        Assert.Null(missing.ETag);
        Assert.Equal(0, missing.State!.Value);   // a fresh state, not what the caller held

        var written = State(42);
        written.State!.Note = "round 3";
        await Storage().WriteStateAsync("progress", grain, written);
        Assert.True(written.RecordExists);
        Assert.NotNull(written.ETag);

        var read = State();
        await Storage().ReadStateAsync("progress", grain, read);
        Assert.True(read.RecordExists);
        Assert.Equal(written.ETag, read.ETag);
        Assert.Equal((42, "round 3"), (read.State!.Value, read.State!.Note));

        var otherName = State();
        await Storage().ReadStateAsync("other", grain, otherName);
        var otherService = State();
        await Storage("svc-other").ReadStateAsync("progress", grain, otherService);
        Assert.False(otherName.RecordExists || otherService.RecordExists);
    }

    [Fact]
    public async Task A_writer_with_a_stale_etag_is_refused()
    {
        var a = State(1);
        var b = State(2);
        await Storage().WriteStateAsync("progress", grain, a);
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage().WriteStateAsync("progress", grain, b));   // believes there is no row

        var stale = State();
        await Storage().ReadStateAsync("progress", grain, stale);
        a.State!.Value = 10;
        await Storage().WriteStateAsync("progress", grain, a);                   // the current holder moves on
        stale.State!.Value = 99;
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage().WriteStateAsync("progress", grain, stale));
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage().ClearStateAsync("progress", grain, stale));

        var read = State();
        await Storage().ReadStateAsync("progress", grain, read);
        Assert.Equal(10, read.State!.Value);
    }

    [Fact]
    public async Task Clearing_deletes_the_row()
    {
        var s = State(5);
        await Storage().WriteStateAsync("progress", grain, s);
        await Storage().ClearStateAsync("progress", grain, s);
        Assert.False(s.RecordExists);
        Assert.Null(s.ETag);

        var read = State(3);
        await Storage().ReadStateAsync("progress", grain, read);
        Assert.False(read.RecordExists);
        await Storage().WriteStateAsync("progress", grain, s);   // and it can be written afresh
        Assert.True(s.RecordExists);
    }
}
