-- TreePO's own schema for Cluster:Clustering=postgres (host/Clustering/Postgres): Orleans' membership table and the
-- grain state that tree snapshots and runs are kept in, and the reminders that resume runs.
-- Every silo applies this script at start, inside a transaction holding an advisory lock, so two silos starting at
-- once do not race on the catalog. Every statement is idempotent: the script may run any number of times.

-- One row per cluster (service id, cluster id): the table version that Orleans' membership protocol advances on
-- every insert or update of a silo row, and the etag that makes that advance a compare-and-swap.
CREATE TABLE IF NOT EXISTS treepo_membership_version (
    service_id  text    NOT NULL,
    cluster_id  text    NOT NULL,
    version     integer NOT NULL,
    etag        text    NOT NULL,
    PRIMARY KEY (service_id, cluster_id)
);

-- One row per silo incarnation: address, silo port and generation identify it (a restarted silo is a new row).
-- suspecting_silos[i] voted the silo dead at suspect_times[i]. etag changes on every update of the row, not on
-- i_am_alive_time heartbeats.
CREATE TABLE IF NOT EXISTS treepo_membership (
    service_id        text          NOT NULL,
    cluster_id        text          NOT NULL,
    address           text          NOT NULL,
    port              integer       NOT NULL,
    generation        integer       NOT NULL,
    silo_name         text          NOT NULL,
    host_name         text          NOT NULL,
    status            integer       NOT NULL,
    proxy_port        integer       NOT NULL,
    update_zone       integer       NOT NULL DEFAULT 0,
    fault_zone        integer       NOT NULL DEFAULT 0,
    suspecting_silos  text[]        NOT NULL DEFAULT '{}',
    suspect_times     timestamptz[] NOT NULL DEFAULT '{}',
    start_time        timestamptz   NOT NULL,
    i_am_alive_time   timestamptz   NOT NULL,
    etag              text          NOT NULL,
    PRIMARY KEY (service_id, cluster_id, address, port, generation),
    FOREIGN KEY (service_id, cluster_id) REFERENCES treepo_membership_version (service_id, cluster_id) ON DELETE CASCADE
);

-- Grain state (tree snapshots, storage "treepo-trees"): one row per (service id, state name, grain id), written
-- with optimistic concurrency on etag. Rows of trees nobody asks for again are removed after two days.
CREATE TABLE IF NOT EXISTS treepo_grain_state (
    service_id  text        NOT NULL,
    state_name  text        NOT NULL,
    grain_id    text        NOT NULL,
    etag        text        NOT NULL,
    data        bytea       NOT NULL,
    written_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_id, state_name, grain_id)
);

-- Orleans reminders (a training run's recovery reminder, docs/deploy.md): one row per (service id, grain, reminder
-- name). grain_hash is the grain id's uniform hash (an unsigned 32-bit value), the key the reminder service reads
-- its ring range by. etag changes on every upsert.
CREATE TABLE IF NOT EXISTS treepo_reminders (
    service_id     text        NOT NULL,
    grain_id       text        NOT NULL,
    reminder_name  text        NOT NULL,
    grain_hash     bigint      NOT NULL,
    start_at       timestamptz NOT NULL,
    period_ms      bigint      NOT NULL,
    etag           text        NOT NULL,
    PRIMARY KEY (service_id, grain_id, reminder_name)
);
CREATE INDEX IF NOT EXISTS treepo_reminders_hash ON treepo_reminders (service_id, grain_hash);
