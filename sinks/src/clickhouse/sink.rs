//! [`ClickHouseSink`]: creates the database, the storage tables and the views, writes the
//! consolidated changes of closed epochs as each key's state at that epoch, and reads the
//! views back.

use std::time::Duration;

use bytes::Bytes;

use pulso_events::views::{ViewRow, ViewSet};

use super::client::Client;
use super::error::ClickHouseError;
use super::metrics::SinkMetrics;
use super::schema::{MONEY, STORE_SUFFIX};
use super::tables::{AnyTable, Tables};
use super::ClickHouseConfig;

/// Writes view changes to ClickHouse and reads the views back. See the module documentation
/// for the table design and the guarantees.
pub struct ClickHouseSink {
    config: ClickHouseConfig,
    client: Client,
    tables: Tables,
    metrics: SinkMetrics,
}

/// The SQL statements [`ClickHouseSink::connect`] runs for database `db`: the database, then
/// for every view its storage table and the view over it.
pub fn schema_sql(db: &str) -> Vec<String> {
    let mut out = vec![format!("CREATE DATABASE IF NOT EXISTS {db}")];
    for table in Tables::new().all() {
        out.push(table.create_store_sql(db));
        out.push(table.create_view_sql(db));
    }
    out
}

/// The names of the views the sink creates, in order: the views of `VIEWS.md` with
/// `open_cases` after `open_case_sla`, then `as_of`.
pub fn view_names() -> Vec<&'static str> {
    Tables::new().all().iter().map(|t| t.name()).collect()
}

/// The rows of one table to write at one epoch: indexes into the changes, and whether each
/// is a tombstone.
type Pending = Vec<(usize, bool)>;

impl ClickHouseSink {
    /// Connects to the server of `config`, creating the database, the storage tables and the
    /// views if missing (retrying while the server is unreachable), and checks that existing
    /// ones have the columns this sink writes.
    pub fn connect(config: ClickHouseConfig) -> Result<Self, ClickHouseError> {
        Self::connect_with_metrics(config, SinkMetrics::default())
    }

    /// [`Self::connect`], counting into `metrics`.
    pub(crate) fn connect_with_metrics(
        config: ClickHouseConfig,
        metrics: SinkMetrics,
    ) -> Result<Self, ClickHouseError> {
        config.validate()?;
        let client = Client::new(
            &config.url,
            config.user.as_deref(),
            config.password.as_deref(),
            Duration::from_millis(config.timeout_ms),
        )?;
        let sink = ClickHouseSink {
            config,
            client,
            tables: Tables::new(),
            metrics,
        };
        sink.create_schema()
            .inspect_err(|_| sink.metrics.add_failure())?;
        Ok(sink)
    }

    /// The configuration the sink was connected with.
    pub fn config(&self) -> &ClickHouseConfig {
        &self.config
    }

    /// The sink's counters (shared: clones see later updates).
    pub fn metrics(&self) -> SinkMetrics {
        self.metrics.clone()
    }

    /// Creates what is missing of [`schema_sql`], table by table: the storage table first, then
    /// (once an old storage table has been set aside, if it had to be) its view, which could
    /// not be created over an old layout.
    fn create_schema(&self) -> Result<(), ClickHouseError> {
        let db = &self.config.database;
        let create_db = format!("CREATE DATABASE IF NOT EXISTS {db}");
        self.retry("creating the schema", || self.client.query(&create_db))?;
        for table in self.tables.all() {
            let create = table.create_store_sql(db);
            self.retry("creating the schema", || self.client.query(&create))?;
            let store = format!("{db}.{}{STORE_SUFFIX}", table.name());
            let mut columns = self.describe(&store)?;
            if self.set_aside_old_key(&store, &columns, table)? {
                columns = self.describe(&store)?;
            }
            let create = table.create_view_sql(db);
            self.retry("creating the schema", || self.client.query(&create))?;
            if self.widen_money(&store, &columns, table)? {
                // The view over the table is recreated with the wider columns.
                self.recreate_view(table)?;
            }
            self.check_columns(&store, &columns, &table.store_column_names())?;
            let view = format!("{db}.{}", table.name());
            let view_columns = self.describe(&view)?;
            self.check_columns(&view, &view_columns, &table.view_column_names())?;
        }
        Ok(())
    }

    /// The `(name, type)` of every column of the table or view `name`.
    fn describe(&self, name: &str) -> Result<Vec<(String, String)>, ClickHouseError> {
        let sql = format!("DESCRIBE TABLE {name} FORMAT TabSeparated");
        let answer = self.retry("checking the schema", || self.client.query(&sql))?;
        Ok(String::from_utf8_lossy(&answer)
            .lines()
            .filter_map(|line| {
                let mut fields = line.split('\t');
                let name = fields.next().filter(|n| !n.is_empty())?;
                Some((
                    name.to_owned(),
                    fields.next().unwrap_or_default().to_owned(),
                ))
            })
            .collect())
    }

    /// Sets aside a storage table created by an older Pulso whose key lacks a key column of
    /// this sink's (`order_metrics` before `currency`): its rows mean other keys (totals
    /// summed over what the new column splits) and ClickHouse cannot insert a column into
    /// the middle of a sorting key, so it is renamed `<view>_store_before_<columns>` (kept,
    /// not served), and a new storage table and view are created; the engine fills the new
    /// table as it writes (docs/CLICKHOUSE.md, "Upgrading"). True when it did.
    fn set_aside_old_key(
        &self,
        store: &str,
        columns: &[(String, String)],
        table: &dyn AnyTable,
    ) -> Result<bool, ClickHouseError> {
        let missing: Vec<String> = table
            .table()
            .order_by()
            .into_iter()
            .filter(|key| !columns.iter().any(|(name, _)| name == key))
            .collect();
        if missing.is_empty() {
            return Ok(false);
        }
        let aside = format!("{store}_before_{}", missing.join("_"));
        tracing::warn!(
            table = table.name(),
            missing = ?missing,
            "the storage table lacks key columns: renaming it {aside} and creating a new one"
        );
        let rename = format!("RENAME TABLE {store} TO {aside}");
        self.retry("setting an old table aside", || self.client.query(&rename))?;
        let db = &self.config.database;
        let drop = format!("DROP TABLE IF EXISTS {db}.{}", table.name());
        self.retry("setting an old table aside", || self.client.query(&drop))?;
        let create = table.create_store_sql(db);
        self.retry("creating the schema", || self.client.query(&create))?;
        let create = table.create_view_sql(db);
        self.retry("creating the schema", || self.client.query(&create))?;
        Ok(true)
    }

    /// Widens the money columns of a storage table created by an older Pulso
    /// (`Decimal(18, 2)`, in `columns`) to [`MONEY`]; true when it did.
    fn widen_money(
        &self,
        store: &str,
        columns: &[(String, String)],
        table: &dyn AnyTable,
    ) -> Result<bool, ClickHouseError> {
        let narrow: Vec<&str> = columns
            .iter()
            .filter(|(_, ty)| ty.starts_with("Decimal(18, 2)"))
            .map(|(name, _)| name.as_str())
            .collect();
        if narrow.is_empty() {
            return Ok(false);
        }
        tracing::warn!(table = table.name(), columns = ?narrow, "widening money columns to {MONEY}");
        for column in narrow {
            let alter = format!("ALTER TABLE {store} MODIFY COLUMN {column} {MONEY}");
            self.retry("widening a money column", || self.client.query(&alter))?;
        }
        Ok(true)
    }

    /// Drops and recreates the view over `table`'s storage table (views hold no data).
    fn recreate_view(&self, table: &dyn AnyTable) -> Result<(), ClickHouseError> {
        let db = &self.config.database;
        let drop = format!("DROP TABLE IF EXISTS {db}.{}", table.name());
        self.retry("recreating a view", || self.client.query(&drop))?;
        let create = table.create_view_sql(db);
        self.retry("recreating a view", || self.client.query(&create))?;
        Ok(())
    }

    /// Checks that the table or view `name`, whose columns are `found`, has exactly the
    /// `expected` columns, in order.
    fn check_columns(
        &self,
        name: &str,
        found: &[(String, String)],
        expected: &[String],
    ) -> Result<(), ClickHouseError> {
        let found: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
        if found != expected {
            return Err(ClickHouseError::Schema {
                table: name.to_owned(),
                message: format!(
                    "has columns {found:?}, this sink writes {expected:?}; \
                     drop it or use another database"
                ),
            });
        }
        Ok(())
    }

    fn retry<T>(
        &self,
        what: &str,
        op: impl FnMut() -> Result<T, ClickHouseError>,
    ) -> Result<T, ClickHouseError> {
        self.config.retry.run(what, &self.metrics, op)
    }

    /// Writes the consolidated changes of the closed epoch `epoch`: for every key they touch,
    /// its state at this epoch (the inserted row, or a tombstone when the key only lost its
    /// row), with `version = epoch`. Writing the same epoch again gives the same tables.
    /// Retryable errors are retried per the retry policy; the error returned means the epoch
    /// may be partly written and must be written again.
    pub fn write_epoch(
        &mut self,
        epoch: u64,
        changes: &[(ViewRow, isize)],
    ) -> Result<(), ClickHouseError> {
        self.write_epoch_batches(epoch, changes, None).map(drop)
    }

    /// [`Self::write_epoch`], stopping after `max_batches` inserts when given (to simulate a
    /// crash mid-epoch); returns the inserts made. The epoch counts as written only when
    /// every insert was made.
    pub(crate) fn write_epoch_batches(
        &mut self,
        epoch: u64,
        changes: &[(ViewRow, isize)],
        max_batches: Option<usize>,
    ) -> Result<usize, ClickHouseError> {
        let result = self.write_states(epoch, changes, max_batches);
        match &result {
            Ok(batches) if max_batches.is_none_or(|m| *batches < m) => {
                self.metrics.epoch_written(epoch)
            }
            Ok(_) => {}
            Err(_) => self.metrics.add_failure(),
        }
        result
    }

    fn write_states(
        &self,
        epoch: u64,
        changes: &[(ViewRow, isize)],
        max_batches: Option<usize>,
    ) -> Result<usize, ClickHouseError> {
        let per_table = self.key_states(changes);
        let db = &self.config.database;
        let mut batches = 0;
        // The largest batch so far: the next one's buffer starts that large.
        let mut capacity = 0;
        for (table, rows) in self.tables.all().into_iter().zip(&per_table) {
            if rows.is_empty() {
                continue;
            }
            let sql = table.insert_sql(db);
            for chunk in rows.chunks(self.config.batch_rows) {
                if max_batches.is_some_and(|m| batches >= m) {
                    return Ok(batches);
                }
                let mut body = Vec::with_capacity(capacity);
                for &(index, deleted) in chunk {
                    self.tables
                        .encode_row(&changes[index].0, epoch, deleted, &mut body);
                }
                capacity = capacity.max(body.len());
                // Every attempt sends the same bytes (a `Bytes` clone shares them).
                let body = Bytes::from(body);
                self.retry(
                    &format!("inserting into {db}.{}{STORE_SUFFIX}", table.name()),
                    || self.client.insert(&sql, body.clone()),
                )?;
                self.metrics.add_rows(chunk.len() as u64);
                batches += 1;
            }
        }
        Ok(batches)
    }

    /// For every key touched by `changes`, the row to write, per table: the greatest row
    /// inserted under that key (there is one in a consistent view), else a tombstone carrying
    /// the greatest row retracted. Rows are in key order, so the batches of an epoch are the
    /// same every time it is written.
    fn key_states(&self, changes: &[(ViewRow, isize)]) -> Vec<Pending> {
        let mut keyed: Vec<(usize, Vec<u8>, usize)> = Vec::with_capacity(changes.len());
        for (index, (row, diff)) in changes.iter().enumerate() {
            // Expiry deletes nothing in ClickHouse: the watermark that drives it is not stored.
            if *diff == 0 || matches!(row, ViewRow::Watermark(_)) {
                continue;
            }
            let mut key = Vec::new();
            let table = self.tables.encode_key(row, &mut key);
            keyed.push((table, key, index));
        }
        keyed.sort_unstable_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let mut per_table: Vec<Pending> = vec![Vec::new(); self.tables.count()];
        for group in keyed.chunk_by(|a, b| a.0 == b.0 && a.1 == b.1) {
            let best = |inserted: bool| {
                group
                    .iter()
                    .map(|&(_, _, i)| i)
                    .filter(|&i| (changes[i].1 > 0) == inserted)
                    .max_by(|&a, &b| changes[a].0.cmp(&changes[b].0))
            };
            let state = match best(true) {
                Some(i) => (i, false),
                None => (best(false).expect("a group has a change"), true),
            };
            per_table[group[0].0].push(state);
        }
        per_table
    }

    /// Reads every view (`SELECT * FROM <db>.<view>`) back into a set: the current rows
    /// of every view, and `as_of` from the `as_of` view.
    pub fn read_views(&self) -> Result<ViewSet, ClickHouseError> {
        let result = self.read_all();
        if result.is_err() {
            self.metrics.add_failure();
        }
        result
    }

    fn read_all(&self) -> Result<ViewSet, ClickHouseError> {
        let db = &self.config.database;
        let mut views = ViewSet::default();
        for table in self.tables.all() {
            let sql = format!("SELECT * FROM {db}.{} FORMAT RowBinary", table.name());
            let answer = self.retry(&format!("reading {db}.{}", table.name()), || {
                self.client.query(&sql)
            })?;
            table.decode_into(&answer, &mut views)?;
        }
        views.sort();
        Ok(views)
    }

    /// Runs one SQL statement (with retries) and returns the answer's body; for maintenance
    /// and tests (`OPTIMIZE TABLE ... FINAL`, `SELECT count() ...`).
    pub fn execute(&self, sql: &str) -> Result<Vec<u8>, ClickHouseError> {
        self.retry("running a statement", || self.client.query(sql))
    }

    /// The greatest version (epoch) written to any storage table, `None` when nothing was.
    /// A one-shot writer (replay, backfill) writes above it so its rows replace older ones.
    pub fn max_version(&self) -> Result<Option<u64>, ClickHouseError> {
        let db = &self.config.database;
        let mut max = None;
        for name in view_names() {
            let sql = format!("SELECT count(), max(version) FROM {db}.{name}_store FORMAT TSV");
            let answer = self.execute(&sql)?;
            let text = String::from_utf8_lossy(&answer);
            let mut fields = text.trim().split('\t');
            let count: u64 = fields.next().and_then(|f| f.parse().ok()).unwrap_or(0);
            let version: Option<u64> = fields.next().and_then(|f| f.parse().ok());
            if count > 0 {
                max = max.max(version);
            }
        }
        Ok(max)
    }

    /// Drops the sink's database with every table and view in it.
    pub fn drop_database(&self) -> Result<(), ClickHouseError> {
        let sql = format!("DROP DATABASE IF EXISTS {}", self.config.database);
        self.execute(&sql).map(drop)
    }
}
