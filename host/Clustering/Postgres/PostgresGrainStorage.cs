using Npgsql;
using Orleans.Runtime;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace TreePO.Hosting.Clustering.Postgres;

/// <summary>
/// Orleans grain storage in PostgreSQL (table treepo_grain_state of PostgresSchema.sql), so that with postgres
/// clustering tree snapshots outlive the silo that wrote them, as they do in Redis. Writes are compare-and-swap on
/// the row's etag: a writer holding a stale etag gets <see cref="InconsistentStateException"/>. Clearing deletes the
/// row. Rows untouched for <see cref="Expiry"/> are removed when a silo starts.
/// </summary>
public sealed class PostgresGrainStorage : IGrainStorage, IAsyncDisposable, IDisposable
{
    public static readonly TimeSpan Expiry = TimeSpan.FromDays(2);

    /// <summary>Snapshot writes of many trees at once wait for a connection rather than open hundreds.</summary>
    public const int MaxConnections = 16;

    readonly NpgsqlDataSource db;
    readonly string serviceId;
    readonly IGrainStorageSerializer serializer;
    readonly IActivatorProvider activators;
    readonly Lock gate = new();
    Task? prepared;

    public PostgresGrainStorage(string connectionString, string serviceId, IGrainStorageSerializer serializer, IActivatorProvider activators)
    {
        db = PostgresDataSource.Create(connectionString, MaxConnections);
        this.serviceId = serviceId;
        this.serializer = serializer;
        this.activators = activators;
    }

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await Ready();
        await using var connection = await db.OpenConnectionAsync();
        await using var select = Command("SELECT etag, data FROM treepo_grain_state WHERE service_id = @service AND state_name = @state AND grain_id = @grain",
            connection, stateName, grainId);
        await using var reader = await select.ExecuteReaderAsync();
        if (await reader.ReadAsync())
        {
            grainState.ETag = reader.GetString(0);
            grainState.State = serializer.Deserialize<T>(BinaryData.FromBytes(reader.GetFieldValue<byte[]>(1)));
            grainState.RecordExists = true;
        }
        else
            Reset(grainState);
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await Ready();
        string etag = Guid.NewGuid().ToString("N");
        await using var connection = await db.OpenConnectionAsync();
        // No etag: the grain believes there is no row, so only an insert may succeed.
        await using var write = Command(grainState.ETag is null
            ? """
              INSERT INTO treepo_grain_state (service_id, state_name, grain_id, etag, data, written_at)
              VALUES (@service, @state, @grain, @new_etag, @data, now()) ON CONFLICT DO NOTHING
              """
            : """
              UPDATE treepo_grain_state SET etag = @new_etag, data = @data, written_at = now()
              WHERE service_id = @service AND state_name = @state AND grain_id = @grain AND etag = @etag
              """, connection, stateName, grainId);
        write.Parameters.AddWithValue("new_etag", etag);
        write.Parameters.AddWithValue("data", serializer.Serialize(grainState.State).ToArray());
        write.Parameters.AddWithValue("etag", (object?)grainState.ETag ?? DBNull.Value);
        if (await write.ExecuteNonQueryAsync() != 1)
            throw new InconsistentStateException($"{stateName} of {grainId} was changed by another writer", "(unknown)", grainState.ETag ?? "(none)");
        grainState.ETag = etag;
        grainState.RecordExists = true;
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await Ready();
        if (grainState.ETag is not null)
        {
            await using var connection = await db.OpenConnectionAsync();
            await using var delete = Command("""
                DELETE FROM treepo_grain_state
                WHERE service_id = @service AND state_name = @state AND grain_id = @grain AND etag = @etag
                """, connection, stateName, grainId);
            delete.Parameters.AddWithValue("etag", grainState.ETag);
            if (await delete.ExecuteNonQueryAsync() != 1)
                throw new InconsistentStateException($"{stateName} of {grainId} was changed by another writer", "(unknown)", grainState.ETag);
        }
        Reset(grainState);
    }

    void Reset<T>(IGrainState<T> grainState)
    {
        grainState.State = activators.GetActivator<T>().Create();
        grainState.ETag = null;
        grainState.RecordExists = false;
    }

    /// <summary>Once per storage (again after a failure, say the database was down): the schema (the membership
    /// table applies it too; this storage may be used without it), then the expired rows of this service.</summary>
    Task Ready()
    {
        lock (gate)
        {
            if (prepared is null || prepared.IsFaulted || prepared.IsCanceled) prepared = PrepareAsync();
            return prepared;
        }
    }

    async Task PrepareAsync()
    {
        await PostgresSchema.ApplyAsync(db);
        await using var connection = await db.OpenConnectionAsync();
        await using var expire = new NpgsqlCommand("DELETE FROM treepo_grain_state WHERE service_id = @service AND written_at < now() - @expiry", connection);
        expire.Parameters.AddWithValue("service", serviceId);
        expire.Parameters.AddWithValue("expiry", Expiry);
        await expire.ExecuteNonQueryAsync();
    }

    NpgsqlCommand Command(string sql, NpgsqlConnection connection, string stateName, GrainId grainId)
    {
        var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("service", serviceId);
        command.Parameters.AddWithValue("state", stateName);
        command.Parameters.AddWithValue("grain", grainId.ToString());
        return command;
    }

    public ValueTask DisposeAsync() => db.DisposeAsync();

    public void Dispose() => db.Dispose();
}
