using System.Net;
using Npgsql;
using NpgsqlTypes;
using Orleans.Runtime;

namespace TreePO.Hosting.Clustering.Postgres;

/// <summary>
/// Orleans' membership table in PostgreSQL, on the project's own schema (PostgresSchema.sql). One
/// treepo_membership_version row per (service id, cluster id) holds the table version and its etag; one
/// treepo_membership row per silo holds its entry and a row etag.
///
/// Orleans' contract: an insert or update succeeds only when it names the next table version and the etag of the
/// current one (and, for an update, the row's current etag); the row change and the version advance happen in one
/// transaction or not at all, and a losing writer gets false, never an exception. Under READ COMMITTED the
/// conditional UPDATE of the version row does that: a concurrent writer blocks on the row, then re-checks the
/// condition against the committed version and matches nothing.
/// </summary>
public sealed class PostgresMembershipTable : IMembershipTable, IAsyncDisposable, IDisposable
{
    /// <summary>Membership traffic is a few statements every few seconds per silo.</summary>
    public const int MaxConnections = 4;

    readonly NpgsqlDataSource db;
    readonly string serviceId, clusterId;

    public PostgresMembershipTable(string connectionString, string serviceId, string clusterId)
    {
        db = PostgresDataSource.Create(connectionString, MaxConnections);
        Where = PostgresDataSource.Describe(connectionString);
        this.serviceId = serviceId;
        this.clusterId = clusterId;
    }

    /// <summary>Host, port and database, for messages (never the password).</summary>
    public string Where { get; }

    // Orleans calls the cancellation-aware methods; the older ones forward to them.
    public Task InitializeMembershipTable(bool tryInitTableVersion) => InitializeMembershipTableAsync(tryInitTableVersion, default);
    public Task DeleteMembershipTableEntries(string clusterId) => DeleteMembershipTableEntriesAsync(clusterId, default);
    public Task CleanupDefunctSiloEntries(DateTimeOffset beforeDate) => CleanupDefunctSiloEntriesAsync(beforeDate, default);
    public Task<MembershipTableData> ReadRow(SiloAddress key) => ReadRowAsync(key, default);
    public Task<MembershipTableData> ReadAll() => ReadAllAsync(default);
    public Task<bool> InsertRow(MembershipEntry entry, TableVersion tableVersion) => InsertRowAsync(entry, tableVersion, default);
    public Task<bool> UpdateRow(MembershipEntry entry, string etag, TableVersion tableVersion) => UpdateRowAsync(entry, etag, tableVersion, default);
    public Task UpdateIAmAlive(MembershipEntry entry) => UpdateIAmAliveAsync(entry, default);

    public async Task InitializeMembershipTableAsync(bool tryInitTableVersion, CancellationToken cancellationToken)
    {
        try
        {
            await PostgresSchema.ApplyAsync(db, cancellationToken);
            if (tryInitTableVersion)
                await ExecuteAsync("""
                    INSERT INTO treepo_membership_version (service_id, cluster_id, version, etag)
                    VALUES (@service, @cluster, 0, @etag) ON CONFLICT DO NOTHING
                    """, p => p.AddWithValue("etag", NewEtag()), cancellationToken);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            throw new InvalidOperationException(
                $"postgres clustering: cannot set up the membership table at {Where} (TreePO:Cluster:Postgres; " +
                $"scripts/ensure-postgres.sh starts a server on loopback): {e.Message}", e);
        }
    }

    public Task DeleteMembershipTableEntriesAsync(string clusterId, CancellationToken cancellationToken) =>
        // The version row goes too; its silo rows follow by ON DELETE CASCADE.
        ExecuteAsync("DELETE FROM treepo_membership_version WHERE service_id = @service AND cluster_id = @id",
            p => p.AddWithValue("id", clusterId), cancellationToken);

    /// <summary>Removes rows of dead silos that nothing has touched since <paramref name="beforeDate"/>: no
    /// heartbeat, no start and no suspicion vote after it.</summary>
    public Task CleanupDefunctSiloEntriesAsync(DateTimeOffset beforeDate, CancellationToken cancellationToken) =>
        ExecuteAsync("""
            DELETE FROM treepo_membership
            WHERE service_id = @service AND cluster_id = @cluster AND status = @dead
              AND i_am_alive_time < @before AND start_time < @before
              AND NOT EXISTS (SELECT 1 FROM unnest(suspect_times) AS vote(at) WHERE vote.at >= @before)
            """, p =>
            {
                p.AddWithValue("dead", (int)SiloStatus.Dead);
                p.AddWithValue("before", beforeDate.UtcDateTime);
            }, cancellationToken);

    public Task<MembershipTableData> ReadRowAsync(SiloAddress key, CancellationToken cancellationToken) => ReadAsync(key, cancellationToken);

    public Task<MembershipTableData> ReadAllAsync(CancellationToken cancellationToken) => ReadAsync(null, cancellationToken);

    public async Task<bool> InsertRowAsync(MembershipEntry entry, TableVersion tableVersion, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        if (!await AdvanceVersionAsync(connection, tx, tableVersion, cancellationToken)) return false;
        await using var insert = Command("""
            INSERT INTO treepo_membership (service_id, cluster_id, address, port, generation, silo_name, host_name,
                status, proxy_port, update_zone, fault_zone, suspecting_silos, suspect_times, start_time, i_am_alive_time, etag)
            VALUES (@service, @cluster, @address, @port, @generation, @silo_name, @host_name,
                @status, @proxy_port, @update_zone, @fault_zone, @suspecting_silos, @suspect_times, @start_time, @i_am_alive_time, @etag)
            ON CONFLICT DO NOTHING
            """, connection, tx);
        AddEntry(insert.Parameters, entry);
        insert.Parameters.AddWithValue("etag", NewEtag());
        if (await insert.ExecuteNonQueryAsync(cancellationToken) != 1) return false;   // the silo is in the table already: roll back
        await tx.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<bool> UpdateRowAsync(MembershipEntry entry, string etag, TableVersion tableVersion, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        if (!await AdvanceVersionAsync(connection, tx, tableVersion, cancellationToken)) return false;
        await using var update = Command("""
            UPDATE treepo_membership SET silo_name = @silo_name, host_name = @host_name, status = @status,
                proxy_port = @proxy_port, update_zone = @update_zone, fault_zone = @fault_zone,
                suspecting_silos = @suspecting_silos, suspect_times = @suspect_times, start_time = @start_time,
                i_am_alive_time = @i_am_alive_time, etag = @new_etag
            WHERE service_id = @service AND cluster_id = @cluster
              AND address = @address AND port = @port AND generation = @generation AND etag = @etag
            """, connection, tx);
        AddEntry(update.Parameters, entry);
        update.Parameters.AddWithValue("etag", etag);
        update.Parameters.AddWithValue("new_etag", NewEtag());
        if (await update.ExecuteNonQueryAsync(cancellationToken) != 1) return false;   // no such row, or someone changed it: roll back
        await tx.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>The heartbeat: only i_am_alive_time changes, neither the row etag nor the table version, so what a
    /// silo read before its own heartbeat stays valid for <see cref="UpdateRowAsync"/>.</summary>
    public Task UpdateIAmAliveAsync(MembershipEntry entry, CancellationToken cancellationToken) =>
        ExecuteAsync("""
            UPDATE treepo_membership SET i_am_alive_time = @i_am_alive_time
            WHERE service_id = @service AND cluster_id = @cluster AND address = @address AND port = @port AND generation = @generation
            """, p =>
            {
                AddKey(p, entry.SiloAddress);
                p.AddWithValue("i_am_alive_time", NpgsqlDbType.TimestampTz, Utc(entry.IAmAliveTime));
            }, cancellationToken);

    /// <summary>The gateways of active silos, for clients (<see cref="PostgresGatewayListProvider"/>). Empty while no
    /// silo has ever created the schema.</summary>
    public async Task<IList<Uri>> ReadGatewaysAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var select = Command("""
            SELECT address, proxy_port, generation FROM treepo_membership
            WHERE service_id = @service AND cluster_id = @cluster AND status = @active AND proxy_port > 0
            """, connection);
        select.Parameters.AddWithValue("active", (int)SiloStatus.Active);
        var gateways = new List<Uri>();
        try
        {
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                gateways.Add(SiloAddress.New(IPAddress.Parse(reader.GetString(0)), reader.GetInt32(1), reader.GetInt32(2)).ToGatewayUri());
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable) { }
        return gateways;
    }

    /// <summary>The version row and the silo rows (all, or the one of <paramref name="key"/>) in one statement, so
    /// they come from one snapshot. Each entry carries its own row etag.</summary>
    async Task<MembershipTableData> ReadAsync(SiloAddress? key, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var select = Command($"""
            SELECT v.version, v.etag, m.address, m.port, m.generation, m.silo_name, m.host_name, m.status, m.proxy_port,
                   m.update_zone, m.fault_zone, m.suspecting_silos, m.suspect_times, m.start_time, m.i_am_alive_time, m.etag
            FROM treepo_membership_version v
            LEFT JOIN treepo_membership m ON m.service_id = v.service_id AND m.cluster_id = v.cluster_id
                {(key is null ? "" : "AND m.address = @address AND m.port = @port AND m.generation = @generation")}
            WHERE v.service_id = @service AND v.cluster_id = @cluster
            """, connection);
        if (key is not null) AddKey(select.Parameters, key);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        TableVersion? version = null;
        var members = new List<Tuple<MembershipEntry, string>>();
        while (await reader.ReadAsync(cancellationToken))
        {
            version ??= new TableVersion(reader.GetInt32(0), reader.GetString(1));
            if (reader.IsDBNull(2)) continue;   // the version row with no silo row joined
            members.Add(Tuple.Create(ReadEntry(reader), reader.GetString(15)));
        }
        return version is null
            ? throw new InvalidOperationException(
                $"postgres clustering: no membership version row for service '{serviceId}', cluster '{clusterId}' at {Where}; " +
                "a silo creates it at start (InitializeMembershipTable)")
            : new MembershipTableData(members, version);
    }

    static MembershipEntry ReadEntry(NpgsqlDataReader r)
    {
        var suspecting = r.GetFieldValue<string[]>(11);
        var times = r.GetFieldValue<DateTime[]>(12);
        return new MembershipEntry
        {
            SiloAddress = SiloAddress.New(IPAddress.Parse(r.GetString(2)), r.GetInt32(3), r.GetInt32(4)),
            SiloName = r.GetString(5),
            HostName = r.GetString(6),
            Status = (SiloStatus)r.GetInt32(7),
            ProxyPort = r.GetInt32(8),
            UpdateZone = r.GetInt32(9),
            FaultZone = r.GetInt32(10),
            SuspectTimes = suspecting.Zip(times, (silo, at) => Tuple.Create(SiloAddress.FromParsableString(silo), at)).ToList(),
            StartTime = r.GetDateTime(13),
            IAmAliveTime = r.GetDateTime(14),
        };
    }

    /// <summary>Moves the table version from tableVersion.Version - 1 (with the given etag) to tableVersion.Version
    /// under a new etag; false when the table is at another version or etag.</summary>
    async Task<bool> AdvanceVersionAsync(NpgsqlConnection connection, NpgsqlTransaction tx, TableVersion tableVersion, CancellationToken cancellationToken)
    {
        await using var advance = Command("""
            UPDATE treepo_membership_version SET version = @version, etag = @new_etag
            WHERE service_id = @service AND cluster_id = @cluster AND version = @version - 1 AND etag = @etag
            """, connection, tx);
        advance.Parameters.AddWithValue("version", tableVersion.Version);
        advance.Parameters.AddWithValue("etag", tableVersion.VersionEtag ?? "");
        advance.Parameters.AddWithValue("new_etag", NewEtag());
        return await advance.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    static void AddKey(NpgsqlParameterCollection p, SiloAddress silo)
    {
        p.AddWithValue("address", silo.Endpoint.Address.ToString());
        p.AddWithValue("port", silo.Endpoint.Port);
        p.AddWithValue("generation", silo.Generation);
    }

    static void AddEntry(NpgsqlParameterCollection p, MembershipEntry e)
    {
        AddKey(p, e.SiloAddress);
        p.AddWithValue("silo_name", e.SiloName ?? "");
        p.AddWithValue("host_name", e.HostName ?? "");
        p.AddWithValue("status", (int)e.Status);
        p.AddWithValue("proxy_port", e.ProxyPort);
        p.AddWithValue("update_zone", e.UpdateZone);
        p.AddWithValue("fault_zone", e.FaultZone);
        var votes = e.SuspectTimes ?? [];
        p.AddWithValue("suspecting_silos", NpgsqlDbType.Array | NpgsqlDbType.Text, votes.Select(v => v.Item1.ToParsableString()).ToArray());
        p.AddWithValue("suspect_times", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz, votes.Select(v => Utc(v.Item2)).ToArray());
        p.AddWithValue("start_time", NpgsqlDbType.TimestampTz, Utc(e.StartTime));
        p.AddWithValue("i_am_alive_time", NpgsqlDbType.TimestampTz, Utc(e.IAmAliveTime));
    }

    /// <summary>Orleans' times are UTC; Npgsql writes timestamptz only from a DateTime that says so.</summary>
    static DateTime Utc(DateTime t) => t.Kind switch
    {
        DateTimeKind.Utc => t,
        DateTimeKind.Local => t.ToUniversalTime(),
        _ => DateTime.SpecifyKind(t, DateTimeKind.Utc),
    };

    static string NewEtag() => Guid.NewGuid().ToString("N");

    NpgsqlCommand Command(string sql, NpgsqlConnection connection, NpgsqlTransaction? tx = null)
    {
        var command = new NpgsqlCommand(sql, connection, tx);
        command.Parameters.AddWithValue("service", serviceId);
        command.Parameters.AddWithValue("cluster", clusterId);
        return command;
    }

    async Task ExecuteAsync(string sql, Action<NpgsqlParameterCollection> parameters, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var command = Command(sql, connection);
        parameters(command.Parameters);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public ValueTask DisposeAsync() => db.DisposeAsync();

    public void Dispose() => db.Dispose();
}
