//! The raw archive: every accepted record (topic, partition, offset, key, value, event time,
//! epoch and Kafka headers) as Hive-style partitioned Parquet files,
//!
//! ```text
//! root/topic=<topic name>/date=<YYYY-MM-DD>/part-e<epoch, 20 digits>-w<worker, 3 digits>.parquet
//! root/_progress/worker-<worker>.json
//! ```
//!
//! [`ArchiveWriter::write_epoch`] writes one file per (topic, UTC date of the event time) of an
//! epoch, each zstd-compressed, in row groups of at most [`MAX_ROW_GROUP_ROWS`] rows, and
//! atomically (temporary file, fsync, rename, fsync of the directory): a crash leaves either
//! no file or the whole file under its final name, and only `*.tmp` leftovers, which
//! [`ArchiveWriter::new`] removes. File names are deterministic, so writing an epoch again
//! after a crash replaces its files instead of duplicating them, and they carry the worker, so
//! timely workers writing the same topic and date never collide.
//!
//! Each worker's progress record (last durable epoch, next offsets, rejected counts) is in
//! [`super::progress`].
//!
//! Reading back is in [`super::archive_read`]; the `headers` column (absent from archives
//! written before it existed, which read back without headers) in [`super::headers`].

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ::parquet::arrow::ArrowWriter;
use ::parquet::basic::{Compression, Encoding, ZstdLevel};
use ::parquet::file::properties::{WriterProperties, WriterPropertiesBuilder};
use ::parquet::schema::types::ColumnPath;
use arrow::array::{
    ArrayRef, BinaryArray, Int32Array, Int64Array, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::{Datelike, NaiveDate};
use pulso_events::time::{Micros, MICROS_PER_DAY};
use pulso_events::{Position, RecordHeader, SourceRecord, Topic};

use super::row::ArchiveRow;

use super::headers::{encode_headers, headers_field, HEADERS_COLUMN};
use super::progress::{write_progress, PartitionsProgress};
use super::{MAX_ROW_GROUP_ROWS, ZSTD_LEVEL};
use crate::parquet::atomic::{self, TEMP_SUFFIX};
use crate::parquet::EXTENSION;
use crate::parquet::TIMESTAMP_ZONE;
use crate::SinkError;

/// The Hive partition key of the topic directories.
pub const TOPIC_KEY: &str = "topic";
/// The Hive partition key of the date directories.
pub const DATE_KEY: &str = "date";

/// The column names, in file order.
pub const COLUMNS: [&str; 8] = [
    "topic",
    "partition",
    "offset",
    "key",
    "value",
    "timestamp",
    "epoch",
    HEADERS_COLUMN,
];

/// One archived record: a [`pulso_events::SourceRecord`] with its event time and the epoch
/// that accepted it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ArchiveRecord {
    /// The topic.
    pub topic: Topic,
    /// Partition and offset.
    pub position: Position,
    /// The record key, when present.
    pub key: Option<Vec<u8>>,
    /// The raw value bytes.
    pub value: Vec<u8>,
    /// Event time, UTC microseconds (decides the `date=` directory).
    pub timestamp: Micros,
    /// The epoch that accepted the record.
    pub epoch: u64,
    /// The record's Kafka headers, in order (empty when it had none).
    pub headers: Vec<RecordHeader>,
}

impl ArchiveRecord {
    /// The order [`super::read_archive`] returns records in: `(epoch, topic, partition, offset)`.
    pub fn sort_key(&self) -> (u64, Topic, Position) {
        (self.epoch, self.topic, self.position)
    }

    /// Archived records (sorted by [`ArchiveRecord::sort_key`]) as the live run's epochs, to
    /// be replayed with the same watermark and expiries (VIEWS.md, "Retention").
    pub fn into_epochs(records: Vec<ArchiveRecord>) -> Vec<Vec<SourceRecord>> {
        let mut epochs: Vec<Vec<SourceRecord>> = Vec::new();
        let mut current = None;
        for record in records {
            if current != Some(record.epoch) {
                current = Some(record.epoch);
                epochs.push(Vec::new());
            }
            if let Some(epoch) = epochs.last_mut() {
                epoch.push(record.into_source());
            }
        }
        epochs
    }

    /// The source record it archived, to be replayed.
    pub fn into_source(self) -> SourceRecord {
        SourceRecord {
            topic: self.topic,
            position: self.position,
            key: self.key,
            value: self.value,
            // Tombstones are rejected, so never archived.
            tombstone: false,
            headers: self.headers,
        }
    }
}

/// The Arrow schema of an archive file: `topic` utf8, `partition` int32, `offset` int64, `key`
/// nullable binary, `value` binary, `timestamp` TIMESTAMP(MICROSECOND, UTC), `epoch` int64,
/// `headers` nullable `list<struct<key: utf8, value: binary (nullable)>>` (null: no headers).
pub fn archive_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(COLUMNS[0], DataType::Utf8, false),
        Field::new(COLUMNS[1], DataType::Int32, false),
        Field::new(COLUMNS[2], DataType::Int64, false),
        Field::new(COLUMNS[3], DataType::Binary, true),
        Field::new(COLUMNS[4], DataType::Binary, false),
        Field::new(
            COLUMNS[5],
            DataType::Timestamp(TimeUnit::Microsecond, Some(TIMESTAMP_ZONE.into())),
            false,
        ),
        Field::new(COLUMNS[6], DataType::Int64, false),
        headers_field(),
    ]))
}

/// The UTC day (days since 1970-01-01) of event time `t`.
pub fn day_of(t: Micros) -> i64 {
    t.div_euclid(MICROS_PER_DAY)
}

/// Days from 0001-01-01 (chrono's CE day 1) to 1970-01-01.
const UNIX_EPOCH_CE_DAYS: i64 = 719_163;

/// The `YYYY-MM-DD` text of UTC day `day` (days since 1970-01-01).
pub fn format_day(day: i64) -> Result<String, SinkError> {
    i32::try_from(day + UNIX_EPOCH_CE_DAYS)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .ok_or_else(|| SinkError::Schema {
            file: "archive".to_owned(),
            message: format!("day {day} is out of the range of dates"),
        })
}

/// The UTC day (days since 1970-01-01) of a `YYYY-MM-DD` text.
pub fn parse_day(text: &str) -> Option<i64> {
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(i64::from(date.num_days_from_ce()) - UNIX_EPOCH_CE_DAYS)
}

/// The directory of `topic` and UTC day `day` under `root`: `root/topic=<name>/date=<day>`.
pub fn partition_dir(root: &Path, topic: Topic, day: i64) -> Result<PathBuf, SinkError> {
    Ok(root
        .join(format!("{TOPIC_KEY}={}", topic.name()))
        .join(format!("{DATE_KEY}={}", format_day(day)?)))
}

/// The file name of `epoch`'s part written by `worker`: `part-e<20 digits>-w<3 digits>.parquet`.
pub fn part_file_name(epoch: u64, worker: usize) -> String {
    format!("part-e{epoch:020}-w{worker:03}.{EXTENSION}")
}

/// The epoch and worker of a part file name made by [`part_file_name`].
pub fn parse_part_file_name(name: &str) -> Option<(u64, usize)> {
    let rest = name.strip_prefix("part-e")?.strip_suffix(EXTENSION)?;
    let rest = rest.strip_suffix('.')?;
    let (epoch, worker) = rest.split_once("-w")?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(epoch) || !digits(worker) {
        return None;
    }
    Some((epoch.parse().ok()?, worker.parse().ok()?))
}

/// Removes the leftover `*.tmp` files of interrupted writes from `dir` and every directory
/// below it, and returns how many it removed. A missing directory has none.
pub fn clean_temp_files_recursive(dir: &Path) -> Result<usize, SinkError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(SinkError::io(dir)(e)),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(SinkError::io(dir))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(SinkError::io(&path))?;
        if kind.is_dir() {
            removed += clean_temp_files_recursive(&path)?;
        } else if kind.is_file() && entry.file_name().to_string_lossy().ends_with(TEMP_SUFFIX) {
            fs::remove_file(&path).map_err(SinkError::io(&path))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// The writer settings of the archive files: row groups of at most [`MAX_ROW_GROUP_ROWS`]
/// rows; the values (no dictionary: mostly unique) and keys zstd-compressed; the other columns
/// uncompressed, which their encodings already make small: a dictionary for `topic`,
/// `partition`, `epoch` and the headers (one or a few values per file), deltas for `offset`
/// and `timestamp` (increasing within a partition). A compressed column makes the Parquet
/// writer create a zstd compression and decompression context per column chunk: with every
/// column compressed, creating them took ~1% of a live catch-up's CPU (a catch-up writes an
/// archive file per topic, day, epoch and worker: 749 files for 1M records).
fn writer_properties() -> Result<WriterProperties, SinkError> {
    let zstd = Compression::ZSTD(ZstdLevel::try_new(ZSTD_LEVEL)?);
    let delta = |builder: WriterPropertiesBuilder, column: &str| {
        builder
            .set_column_dictionary_enabled(ColumnPath::from(column), false)
            .set_column_encoding(ColumnPath::from(column), Encoding::DELTA_BINARY_PACKED)
    };
    let builder = WriterProperties::builder()
        .set_compression(Compression::UNCOMPRESSED)
        .set_max_row_group_row_count(Some(MAX_ROW_GROUP_ROWS))
        .set_column_compression(ColumnPath::from(COLUMNS[3]), zstd)
        .set_column_compression(ColumnPath::from(COLUMNS[4]), zstd)
        .set_column_dictionary_enabled(ColumnPath::from(COLUMNS[4]), false);
    Ok([COLUMNS[2], COLUMNS[5]]
        .into_iter()
        .fold(builder, delta)
        .build())
}

/// The batch of `records`, all of `topic` and accepted by `epoch`, in the given order.
pub(crate) fn encode<R: ArchiveRow>(
    topic: Topic,
    epoch: u64,
    records: &[&R],
) -> Result<RecordBatch, SinkError> {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            records.iter().map(|_| topic.name()),
        )),
        Arc::new(Int32Array::from_iter_values(
            records.iter().map(|r| r.position().partition),
        )),
        Arc::new(Int64Array::from_iter_values(
            records.iter().map(|r| r.position().offset),
        )),
        Arc::new(records.iter().map(|r| r.key()).collect::<BinaryArray>()),
        Arc::new(BinaryArray::from_iter_values(
            records.iter().map(|r| r.value()),
        )),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(records.iter().map(|r| r.timestamp()))
                .with_timezone(TIMESTAMP_ZONE),
        ),
        Arc::new(Int64Array::from_value(epoch as i64, records.len())),
        encode_headers(records)?,
    ];
    Ok(RecordBatch::try_new(archive_schema(), columns)?)
}

/// Writes the raw archive of one timely worker under a root directory.
#[derive(Debug)]
pub struct ArchiveWriter {
    root: PathBuf,
    worker: usize,
    properties: WriterProperties,
}

impl ArchiveWriter {
    /// A writer of `worker`'s files under `root` (created if missing), after removing the
    /// `*.tmp` leftovers of interrupted writes anywhere under `root`.
    ///
    /// Every worker may clean: a worker only leaves temporary files while it writes, and
    /// writers are created at start, before any epoch is written.
    pub fn new(root: &Path, worker: usize) -> Result<Self, SinkError> {
        let mut created = BTreeSet::new();
        let parent = atomic::parent_dir(root).to_path_buf();
        create_dir(&parent, root, &mut created)?;
        let created: Vec<PathBuf> = created.into_iter().collect();
        in_parallel(&created, |dir| atomic::sync_dir(dir))?;
        let removed = clean_temp_files_recursive(root)?;
        if removed > 0 {
            tracing::info!(root = %root.display(), removed, "removed leftover archive temp files");
        }
        Ok(ArchiveWriter {
            root: root.to_path_buf(),
            worker,
            properties: writer_properties()?,
        })
    }

    /// The archive root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The worker whose files this writer writes.
    pub fn worker(&self) -> usize {
        self.worker
    }

    /// Writes the records of `epoch` (their own `epoch` fields are ignored: `epoch` is written)
    /// as one file per (topic, UTC date of the event time), each sorted by (partition,
    /// offset) and written atomically, and returns the paths written, sorted. An epoch with
    /// no records writes nothing. Writing the same epoch again replaces its files.
    pub fn write_epoch(
        &mut self,
        epoch: u64,
        records: &[ArchiveRecord],
    ) -> Result<Vec<PathBuf>, SinkError> {
        self.write_rows(epoch, records)
    }

    /// [`ArchiveWriter::write_epoch`] of a live run's accepted records and their event times,
    /// read in place: their bytes are encoded without a copy.
    pub fn write_accepted(
        &mut self,
        epoch: u64,
        accepted: &[(SourceRecord, Micros)],
    ) -> Result<Vec<PathBuf>, SinkError> {
        self.write_rows(epoch, accepted)
    }

    /// [`ArchiveWriter::write_epoch`] of any [`ArchiveRow`]s.
    fn write_rows<R: ArchiveRow>(
        &mut self,
        epoch: u64,
        records: &[R],
    ) -> Result<Vec<PathBuf>, SinkError> {
        if i64::try_from(epoch).is_err() {
            return Err(SinkError::Schema {
                file: "archive".to_owned(),
                message: format!("epoch {epoch} does not fit the int64 `epoch` column"),
            });
        }
        let mut groups: BTreeMap<(Topic, i64), Vec<&R>> = BTreeMap::new();
        for record in records {
            groups
                .entry((record.topic(), day_of(record.timestamp())))
                .or_default()
                .push(record);
        }
        let name = part_file_name(epoch, self.worker);
        // Every file is written to its temporary name first; all are fsynced together (the
        // file system commits concurrent fsyncs as one), then renamed, then their directories
        // fsynced: each file appears under its final name whole and durable, and the epoch is
        // durable when this returns.
        let mut temps: Vec<PathBuf> = Vec::with_capacity(groups.len());
        let result = (|| {
            let mut staged = Vec::with_capacity(groups.len());
            let mut dirs = BTreeSet::new();
            for ((topic, day), mut group) in groups {
                group.sort_by_key(|r| r.position());
                let dir = partition_dir(&self.root, topic, day)?;
                create_dir(&self.root, &dir, &mut dirs)?;
                let path = dir.join(&name);
                let tmp = atomic::temp_path(&path);
                let file = File::create(&tmp).map_err(SinkError::io(&tmp))?;
                temps.push(tmp);
                let file = self.write_file(file, topic, epoch, &group)?;
                dirs.insert(dir);
                staged.push((path, file));
            }
            in_parallel(&staged, |(path, file)| {
                file.sync_all()
                    .map_err(SinkError::io(&atomic::temp_path(path)))
            })?;
            let mut written = Vec::with_capacity(staged.len());
            for ((path, file), tmp) in staged.into_iter().zip(&temps) {
                drop(file);
                fs::rename(tmp, &path).map_err(SinkError::io(&path))?;
                written.push(path);
            }
            temps.clear();
            let dirs: Vec<PathBuf> = dirs.into_iter().collect();
            in_parallel(&dirs, |dir| atomic::sync_dir(dir))?;
            Ok(written)
        })();
        if result.is_err() {
            for tmp in &temps {
                let _ = fs::remove_file(tmp);
            }
        }
        result
    }

    /// Writes one part file into `file`, in slices of at most a row group, and returns it.
    fn write_file<R: ArchiveRow>(
        &self,
        file: File,
        topic: Topic,
        epoch: u64,
        records: &[&R],
    ) -> Result<File, SinkError> {
        let properties = self.properties.clone();
        let mut writer = ArrowWriter::try_new(file, archive_schema(), Some(properties))?;
        for chunk in records.chunks(MAX_ROW_GROUP_ROWS) {
            writer.write(&encode(topic, epoch, chunk)?)?;
        }
        Ok(writer.into_inner()?)
    }

    /// Writes this worker's progress file: see [`write_progress`].
    pub fn write_progress(
        &self,
        epoch: u64,
        partitions: &PartitionsProgress,
    ) -> Result<PathBuf, SinkError> {
        write_progress(&self.root, self.worker, epoch, partitions)
    }
}

/// Most threads fsyncing at once.
const MAX_SYNC_THREADS: usize = 8;

/// Runs `f` on every item, on up to [`MAX_SYNC_THREADS`] threads, and returns the first error.
fn in_parallel<T: Sync>(
    items: &[T],
    f: impl Fn(&T) -> Result<(), SinkError> + Sync,
) -> Result<(), SinkError> {
    if items.len() <= 1 {
        return items.iter().try_for_each(f);
    }
    let per_thread = items.len().div_ceil(MAX_SYNC_THREADS);
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = items
            .chunks(per_thread)
            .map(|chunk| scope.spawn(move || chunk.iter().try_for_each(f)))
            .collect();
        let mut result = Ok(());
        for handle in handles {
            let outcome = handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            if result.is_ok() {
                result = outcome;
            }
        }
        result
    })
}

/// Creates `dir` (below `root`) with its missing ancestors, adding to `to_sync` the
/// directories whose entries changed, so that the new directories are durable too.
pub(crate) fn create_dir(
    root: &Path,
    dir: &Path,
    to_sync: &mut BTreeSet<PathBuf>,
) -> Result<(), SinkError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut current = dir;
    while !current.as_os_str().is_empty() && current != root && !current.is_dir() {
        missing.push(current);
        current = current.parent().unwrap_or(Path::new(""));
    }
    fs::create_dir_all(dir).map_err(SinkError::io(dir))?;
    for created in missing {
        to_sync.insert(atomic::parent_dir(created).to_path_buf());
    }
    Ok(())
}
