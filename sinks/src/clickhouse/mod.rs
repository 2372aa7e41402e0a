//! The views in ClickHouse (18.16 and current versions alike), written epoch by epoch so that
//! a crash, a retry or a replay never loses nor double counts a row.
//!
//! # Tables
//!
//! For every view `<view>` of `VIEWS.md` (and `open_cases`, the cases behind
//! `open_case_sla`), database `<db>` (default `pulso`) holds:
//!
//! - a storage table `<db>.<view>_store`, `ENGINE = ReplacingMergeTree(version)
//!   ORDER BY (<the view's key columns>)`, with every column of the view (names and order of
//!   the Parquet files) plus `version UInt64` (the epoch that wrote the row) and
//!   `is_deleted UInt8` (1 for a tombstone);
//! - a view `<db>.<view>` = `SELECT <columns> FROM <db>.<view>_store FINAL WHERE
//!   is_deleted = 0`, so `SELECT * FROM pulso.<view>` returns exactly the view's current rows.
//!
//! Column types: strings `String`, counts and ids `Int64`, money `*_total` `Decimal(38, 2)`,
//! rates and averages `Nullable(Float64)`. ClickHouse 18.16 has no `DateTime64`, so every
//! timestamp `t` is stored twice: `t DateTime('UTC')` (whole seconds, for people and SQL) and
//! `t_us Int64` (exact microseconds since the epoch); the key uses `t_us`, the view shows `t`
//! in its place and every `t_us` after the `VIEWS.md` columns, and reads use `t_us`. A nullable
//! key string (`prioridad`) is stored as `prioridad_value String` ('' for null) and
//! `prioridad_is_null UInt8`, both in the key (18.16 refuses `Nullable` key columns), and shown
//! as `Nullable(String)` by the view. `sla_compliance` also stores the exact integer sums
//! behind its averages (`resolution_count, satisfaction_count, resolution_micro_hours_sum,
//! satisfaction_sum`), shown after the `VIEWS.md` columns as in the Parquet file. The
//! `as_of` view (key `view = 'open_case_sla'`) holds the instant `open_case_sla` was graded at.
//!
//! Tables, columns and keys come from the view registry (`pulso_events::registry`): each
//! view's key columns are its storage table's sorting key (e.g. notification_rates
//! `(tenant_id, channel, provider, granularity, window_start)`, open_cases `(caso_id)`,
//! pipeline_health `(topic)`).
//!
//! # Writing
//!
//! [`ClickHouseSink::write_epoch`] takes the consolidated `(row, diff)` changes of one closed
//! epoch and writes, for every key they touch, the key's state at that epoch with
//! `version = epoch`: the row inserted under the key (`is_deleted = 0`), or when the key only
//! lost its row a tombstone (`is_deleted = 1`, carrying the retracted row's values). `FINAL`
//! keeps the row of the greatest version per key, so:
//!
//! - writing an epoch again (a retry, or a replay after a crash, even one that stopped between
//!   two batches of the epoch) writes the same rows with the same version, which collapse into
//!   one: nothing is counted twice;
//! - a key's row is replaced only by a later epoch's: nothing is lost as long as every epoch
//!   after the last checkpoint of the engine is written again after a crash.
//!
//! This needs epoch numbers that grow and an engine that, when it replays, produces for each
//! epoch the same final state per key (Pulso's views are deterministic). Rows are sent in
//! `RowBinary` by HTTP POST through the official `clickhouse` crate (its client, queries and
//! pre-formatted inserts; the RowBinary of the registry's columns is encoded here), at most
//! `batch_rows` per `INSERT`; between the batches of an epoch readers may see the epoch partly
//! applied. Tombstones stay in the storage tables (hidden by
//! the views); `ALTER TABLE <view>_store DELETE WHERE is_deleted = 1` after an
//! `OPTIMIZE ... FINAL` removes them.
//!
//! Errors are [`ClickHouseError`]s, retryable (connection refused, timeouts, 5xx, busy server)
//! or permanent; retryable ones are retried with exponential backoff and full jitter
//! ([`RetryPolicy`]), for ever or until `max_elapsed`, and the error is returned then.
//! [`spawn_writer`] runs the sink on a thread behind a bounded queue, with [`SinkMetrics`].

mod client;
mod error;
mod metrics;
mod retry;
mod rowbinary;
mod schema;
mod sink;
mod tables;
#[cfg(test)]
mod tests;
mod writer;

use serde::Deserialize;

pub use error::{ClickHouseError, PERMANENT_CODES, RETRYABLE_CODES};
pub use metrics::SinkMetrics;
pub use retry::RetryPolicy;
pub use schema::{DATETIME, IS_NULL_SUFFIX, MICROS_SUFFIX, MONEY, STORE_SUFFIX, VALUE_SUFFIX};
pub use sink::{schema_sql, view_names, ClickHouseSink};
pub use tables::AS_OF_VIEW;
pub use writer::{spawn_writer, WriterHandle};

/// Where and how the sink writes.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClickHouseConfig {
    /// The server's HTTP interface, e.g. `http://127.0.0.1:8123` (https needs the `tls`
    /// feature).
    pub url: String,
    /// The database holding the tables (letters, digits and `_`; created if missing).
    pub database: String,
    /// User to authenticate as (sent with `password` in the `X-ClickHouse-User` and
    /// `X-ClickHouse-Key` headers); none sends no credentials (user `default`).
    pub user: Option<String>,
    /// Password of `user`.
    pub password: Option<String>,
    /// Most rows in one `INSERT`.
    pub batch_rows: usize,
    /// How retryable errors are retried.
    pub retry: RetryPolicy,
    /// Longest time one request may take, in milliseconds (connecting: at most 10 s of it).
    pub timeout_ms: u64,
}

impl Default for ClickHouseConfig {
    /// `http://127.0.0.1:8123`, database `pulso`, no credentials, 100,000 rows per insert,
    /// the default retry policy, 5 minutes per request.
    fn default() -> Self {
        ClickHouseConfig {
            url: "http://127.0.0.1:8123".into(),
            database: "pulso".into(),
            user: None,
            password: None,
            batch_rows: 100_000,
            retry: RetryPolicy::default(),
            timeout_ms: 300_000,
        }
    }
}

impl ClickHouseConfig {
    /// The server at `url`, database `database`, other settings by default.
    pub fn at(url: &str, database: &str) -> Self {
        ClickHouseConfig {
            url: url.to_string(),
            database: database.to_string(),
            ..ClickHouseConfig::default()
        }
    }

    /// Checks what can be checked without the server.
    pub fn validate(&self) -> Result<(), ClickHouseError> {
        let db = &self.database;
        let valid_db = db
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && db.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_db {
            return Err(ClickHouseError::Config(format!(
                "database {db:?} must be letters, digits and '_', not starting with a digit"
            )));
        }
        if self.batch_rows == 0 {
            return Err(ClickHouseError::Config(
                "batch_rows must be at least 1".into(),
            ));
        }
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err(ClickHouseError::Config(format!(
                "url {:?} must start with http:// or https://",
                self.url
            )));
        }
        if self.timeout_ms == 0 {
            return Err(ClickHouseError::Config(
                "timeout_ms must be at least 1".into(),
            ));
        }
        Ok(())
    }
}
