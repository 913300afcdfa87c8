using Npgsql;
using Orleans.Runtime;

namespace TreePO.Hosting.Clustering.Postgres;

/// <summary>
/// Orleans' reminder table in PostgreSQL (treepo_reminders of PostgresSchema.sql), beside the project's membership
/// table and grain state, so that with postgres clustering a run's recovery reminder outlives its silo as it does in
/// Redis. An upsert always wins and returns a new etag; a removal succeeds only with the row's current etag.
/// Ranges are read by the grain id's uniform hash, as Orleans' contract asks: (begin, end], wrapping when
/// begin >= end.
/// </summary>
public sealed class PostgresReminderTable : IReminderTable, IAsyncDisposable, IDisposable
{
    /// <summary>A reminder service reads and writes a few rows a period.</summary>
    public const int MaxConnections = 4;

    readonly NpgsqlDataSource db;
    readonly string serviceId, where;

    public PostgresReminderTable(string connectionString, string serviceId)
    {
        db = PostgresDataSource.Create(connectionString, MaxConnections);
        this.serviceId = serviceId;
        where = PostgresDataSource.Describe(connectionString);
    }

    // Orleans calls the cancellation-aware methods; the older ones forward to them.
    public Task Init() => StartAsync(default);
    public Task<ReminderTableData> ReadRows(GrainId grainId) => ReadRows(grainId, default);
    public Task<ReminderTableData> ReadRows(uint begin, uint end) => ReadRows(begin, end, default);
    public Task<ReminderEntry?> ReadRow(GrainId grainId, string reminderName) => ReadRow(grainId, reminderName, default);
    public Task<string?> UpsertRow(ReminderEntry entry) => UpsertRow(entry, default);
    public Task<bool> RemoveRow(GrainId grainId, string reminderName, string eTag) => RemoveRow(grainId, reminderName, eTag, default);
    public Task TestOnlyClearTable() => TestOnlyClearTable(default);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try { await PostgresSchema.ApplyAsync(db, cancellationToken); }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            throw new InvalidOperationException(
                $"postgres reminders: cannot set up the reminder table at {where} " +
                $"(TreePO:Cluster:Postgres): {e.Message}", e);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    const string Columns = "grain_id, reminder_name, start_at, period_ms, etag";

    public Task<ReminderTableData> ReadRows(GrainId grainId, CancellationToken cancellationToken) =>
        QueryAsync($"SELECT {Columns} FROM treepo_reminders WHERE service_id = @service AND grain_id = @grain",
            p => p.AddWithValue("grain", grainId.ToString()), cancellationToken);

    public Task<ReminderTableData> ReadRows(uint begin, uint end, CancellationToken cancellationToken) =>
        QueryAsync(begin < end
            ? $"SELECT {Columns} FROM treepo_reminders WHERE service_id = @service AND grain_hash > @begin AND grain_hash <= @end"
            : $"SELECT {Columns} FROM treepo_reminders WHERE service_id = @service AND (grain_hash > @begin OR grain_hash <= @end)",
            p =>
            {
                p.AddWithValue("begin", (long)begin);
                p.AddWithValue("end", (long)end);
            }, cancellationToken);

    public async Task<ReminderEntry?> ReadRow(GrainId grainId, string reminderName, CancellationToken cancellationToken)
    {
        var rows = await QueryAsync($"SELECT {Columns} FROM treepo_reminders WHERE service_id = @service AND grain_id = @grain AND reminder_name = @name",
            p =>
            {
                p.AddWithValue("grain", grainId.ToString());
                p.AddWithValue("name", reminderName);
            }, cancellationToken);
        return rows.Reminders.Count > 0 ? rows.Reminders[0] : null;
    }

    public async Task<string?> UpsertRow(ReminderEntry entry, CancellationToken cancellationToken)
    {
        string etag = Guid.NewGuid().ToString("N");
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var upsert = Command("""
            INSERT INTO treepo_reminders (service_id, grain_id, reminder_name, grain_hash, start_at, period_ms, etag)
            VALUES (@service, @grain, @name, @hash, @start, @period, @etag)
            ON CONFLICT (service_id, grain_id, reminder_name)
            DO UPDATE SET grain_hash = EXCLUDED.grain_hash, start_at = EXCLUDED.start_at, period_ms = EXCLUDED.period_ms, etag = EXCLUDED.etag
            """, connection);
        upsert.Parameters.AddWithValue("grain", entry.GrainId.ToString());
        upsert.Parameters.AddWithValue("name", entry.ReminderName);
        upsert.Parameters.AddWithValue("hash", (long)entry.GrainId.GetUniformHashCode());
        upsert.Parameters.AddWithValue("start", Utc(entry.StartAt));
        upsert.Parameters.AddWithValue("period", (long)entry.Period.TotalMilliseconds);
        upsert.Parameters.AddWithValue("etag", etag);
        await upsert.ExecuteNonQueryAsync(cancellationToken);
        return etag;
    }

    public async Task<bool> RemoveRow(GrainId grainId, string reminderName, string eTag, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var delete = Command(
            "DELETE FROM treepo_reminders WHERE service_id = @service AND grain_id = @grain AND reminder_name = @name AND etag = @etag", connection);
        delete.Parameters.AddWithValue("grain", grainId.ToString());
        delete.Parameters.AddWithValue("name", reminderName);
        delete.Parameters.AddWithValue("etag", eTag);
        return await delete.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task TestOnlyClearTable(CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var clear = Command("DELETE FROM treepo_reminders WHERE service_id = @service", connection);
        await clear.ExecuteNonQueryAsync(cancellationToken);
    }

    async Task<ReminderTableData> QueryAsync(string sql, Action<NpgsqlParameterCollection> parameters, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var select = Command(sql, connection);
        parameters(select.Parameters);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        var rows = new List<ReminderEntry>();
        while (await reader.ReadAsync(cancellationToken))
            rows.Add(new ReminderEntry
            {
                GrainId = GrainId.Parse(reader.GetString(0)),
                ReminderName = reader.GetString(1),
                StartAt = DateTime.SpecifyKind(reader.GetDateTime(2), DateTimeKind.Utc),
                Period = TimeSpan.FromMilliseconds(reader.GetInt64(3)),
                ETag = reader.GetString(4),
            });
        return new ReminderTableData(rows);
    }

    NpgsqlCommand Command(string sql, NpgsqlConnection connection)
    {
        var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("service", serviceId);
        return command;
    }

    /// <summary>timestamptz takes UTC only; Orleans' start times are UTC, an unspecified one is taken as UTC.</summary>
    static DateTime Utc(DateTime t) => t.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(t, DateTimeKind.Utc) : t.ToUniversalTime();

    public ValueTask DisposeAsync() => db.DisposeAsync();

    public void Dispose() => db.Dispose();
}
