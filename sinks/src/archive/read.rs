//! Reading the raw archive back, for backfill and recovery: [`read_archive`] returns every
//! record of a time range at once; [`ArchiveReader`] streams them in batches, file by file.
//!
//! Both read every `*.parquet` file of `root/topic=<name>/date=<YYYY-MM-DD>/` (skipping the
//! dates outside the range without opening their files, and anything else: `_progress/`,
//! `*.tmp` leftovers), keep the records whose event time is in `[from, to)`, and drop the
//! repeated (topic, partition, offset)s, keeping the one of the earliest epoch: a crash
//! between writing an epoch's archive and its progress makes the restart archive the same
//! offsets again, possibly under another epoch number. A record's copies always share their
//! `date=` directory (it is decided by the record's own event time), so the streaming reader
//! only remembers the offsets of the date it is reading.

use std::collections::{HashSet, VecDeque};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use ::parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use arrow::array::TimestampMicrosecondArray;
use arrow::array::{Array, BinaryArray, Int32Array, Int64Array, StringArray};
use arrow::record_batch::RecordBatch;
use pulso_events::time::{Micros, MICROS_PER_DAY};
use pulso_events::{Position, Topic};

use super::headers::HeadersColumn;
use super::write::{parse_day, parse_part_file_name, ArchiveRecord, DATE_KEY, TOPIC_KEY};
use crate::parquet::EXTENSION;
use crate::SinkError;

/// Rows per batch read from a file (and most records per [`ArchiveReader`] item).
pub const READ_BATCH_ROWS: usize = 64 * 1024;

/// One part file of the archive.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ArchiveFile {
    /// The UTC day of its `date=` directory (days since 1970-01-01).
    pub day: i64,
    /// The epoch of its name (`None` for a file not named by Pulso: read after the others).
    pub epoch: Option<u64>,
    /// Its `topic=` directory.
    pub topic: Topic,
    /// The worker of its name.
    pub worker: Option<usize>,
    /// Where it is.
    pub path: PathBuf,
}

/// True when UTC day `day` may hold event times in `[from, to)`.
fn day_in_range(day: i64, from: Option<Micros>, to: Option<Micros>) -> bool {
    let start = day.saturating_mul(MICROS_PER_DAY);
    let end = start.saturating_add(MICROS_PER_DAY);
    from.is_none_or(|f| end > f) && to.is_none_or(|t| start < t)
}

/// The value of the Hive directory `<key>=<value>`, if `name` is one.
fn hive_value<'a>(name: &'a str, key: &str) -> Option<&'a str> {
    name.strip_prefix(key)?.strip_prefix('=')
}

/// The subdirectories of `dir` with their names, sorted by name.
fn subdirectories(dir: &Path) -> Result<Vec<(String, PathBuf)>, SinkError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(SinkError::io(dir)(e)),
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(SinkError::io(dir))?;
        let path = entry.path();
        if entry.file_type().map_err(SinkError::io(&path))?.is_dir() {
            dirs.push((entry.file_name().to_string_lossy().into_owned(), path));
        }
    }
    dirs.sort();
    Ok(dirs)
}

fn layout_error(path: &Path, message: &str) -> SinkError {
    SinkError::Schema {
        file: path.display().to_string(),
        message: message.to_owned(),
    }
}

/// Every part file under `root` whose date may hold event times in `[from, to)`, in
/// (date, epoch, topic, worker) order. A missing root has none.
pub fn list_archive_files(
    root: &Path,
    from: Option<Micros>,
    to: Option<Micros>,
) -> Result<Vec<ArchiveFile>, SinkError> {
    let mut files = Vec::new();
    for (name, topic_dir) in subdirectories(root)? {
        let Some(topic_name) = hive_value(&name, TOPIC_KEY) else {
            continue;
        };
        let topic = Topic::from_name(topic_name)
            .ok_or_else(|| layout_error(&topic_dir, "unknown topic"))?;
        for (name, date_dir) in subdirectories(&topic_dir)? {
            let Some(date) = hive_value(&name, DATE_KEY) else {
                continue;
            };
            let day =
                parse_day(date).ok_or_else(|| layout_error(&date_dir, "date is not YYYY-MM-DD"))?;
            if !day_in_range(day, from, to) {
                continue;
            }
            let entries = fs::read_dir(&date_dir).map_err(SinkError::io(&date_dir))?;
            for entry in entries {
                let entry = entry.map_err(SinkError::io(&date_dir))?;
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                let is_file = entry.file_type().map_err(SinkError::io(&path))?.is_file();
                if !is_file || path.extension().is_none_or(|e| e != EXTENSION) {
                    continue;
                }
                let parsed = parse_part_file_name(&name);
                files.push(ArchiveFile {
                    day,
                    epoch: parsed.map(|(e, _)| e),
                    topic,
                    worker: parsed.map(|(_, w)| w),
                    path,
                });
            }
        }
    }
    // `None` epochs (foreign files) after every named one.
    files.sort_by(|a, b| {
        (
            a.day,
            a.epoch.is_none(),
            a.epoch,
            a.topic,
            a.worker,
            &a.path,
        )
            .cmp(&(
                b.day,
                b.epoch.is_none(),
                b.epoch,
                b.topic,
                b.worker,
                &b.path,
            ))
    });
    Ok(files)
}

/// The records of `batch` (read from `path`) whose event time is in `[from, to)`.
fn decode_batch(
    path: &Path,
    batch: &RecordBatch,
    from: Option<Micros>,
    to: Option<Micros>,
) -> Result<Vec<ArchiveRecord>, SinkError> {
    fn column<'a, A: Array + 'static>(
        path: &Path,
        batch: &'a RecordBatch,
        name: &str,
    ) -> Result<&'a A, SinkError> {
        let column = batch
            .column_by_name(name)
            .ok_or_else(|| layout_error(path, &format!("missing column `{name}`")))?;
        column.as_any().downcast_ref::<A>().ok_or_else(|| {
            layout_error(
                path,
                &format!("column `{name}` has type {}", column.data_type()),
            )
        })
    }
    let topics = column::<StringArray>(path, batch, "topic")?;
    let partitions = column::<Int32Array>(path, batch, "partition")?;
    let offsets = column::<Int64Array>(path, batch, "offset")?;
    let keys = column::<BinaryArray>(path, batch, "key")?;
    let values = column::<BinaryArray>(path, batch, "value")?;
    let timestamps = column::<TimestampMicrosecondArray>(path, batch, "timestamp")?;
    let epochs = column::<Int64Array>(path, batch, "epoch")?;
    // Absent from archives written before it existed: no headers then.
    let headers = HeadersColumn::of(batch, |message| layout_error(path, message))?;
    for (name, array) in [
        ("topic", topics as &dyn Array),
        ("partition", partitions),
        ("offset", offsets),
        ("value", values),
        ("timestamp", timestamps),
        ("epoch", epochs),
    ] {
        if array.null_count() > 0 {
            return Err(layout_error(path, &format!("column `{name}` has nulls")));
        }
    }
    let mut records = Vec::with_capacity(batch.num_rows());
    let mut last_topic: Option<(&str, Topic)> = None;
    for i in 0..batch.num_rows() {
        let timestamp = timestamps.value(i);
        if from.is_some_and(|f| timestamp < f) || to.is_some_and(|t| timestamp >= t) {
            continue;
        }
        let name = topics.value(i);
        let topic = match last_topic {
            Some((last, topic)) if last == name => topic,
            _ => {
                let topic = Topic::from_name(name)
                    .ok_or_else(|| layout_error(path, &format!("unknown topic {name:?}")))?;
                last_topic = Some((name, topic));
                topic
            }
        };
        let epoch =
            u64::try_from(epochs.value(i)).map_err(|_| layout_error(path, "negative epoch"))?;
        records.push(ArchiveRecord {
            topic,
            position: Position {
                partition: partitions.value(i),
                offset: offsets.value(i),
            },
            key: (!keys.is_null(i)).then(|| keys.value(i).to_vec()),
            value: values.value(i).to_vec(),
            timestamp,
            epoch,
            headers: headers.row(i),
        });
    }
    Ok(records)
}

/// Streams the archive under a root: the records of every part file whose event time is in
/// `[from, to)`, file by file in (date, epoch, topic, worker) order, in batches of at most
/// [`READ_BATCH_ROWS`] records, without repeated (topic, partition, offset)s (the copy of the
/// earliest epoch is kept). Memory holds one batch plus the offsets seen in the current date.
pub struct ArchiveReader {
    files: VecDeque<ArchiveFile>,
    from: Option<Micros>,
    to: Option<Micros>,
    current: Option<(PathBuf, ParquetRecordBatchReader)>,
    day: Option<i64>,
    seen: HashSet<(Topic, Position)>,
    files_read: usize,
}

impl ArchiveReader {
    /// A reader of the archive under `root` (a missing root is empty), for event times in
    /// `[from, to)` (either bound may be absent).
    pub fn open(root: &Path, from: Option<Micros>, to: Option<Micros>) -> Result<Self, SinkError> {
        Ok(ArchiveReader {
            files: list_archive_files(root, from, to)?.into(),
            from,
            to,
            current: None,
            day: None,
            seen: HashSet::new(),
            files_read: 0,
        })
    }

    /// The files not opened yet, in reading order.
    pub fn remaining_files(&self) -> impl Iterator<Item = &ArchiveFile> {
        self.files.iter()
    }

    /// How many files were opened so far.
    pub fn files_read(&self) -> usize {
        self.files_read
    }

    /// The next non-empty batch, `None` at the end.
    fn next_batch(&mut self) -> Result<Option<Vec<ArchiveRecord>>, SinkError> {
        loop {
            if let Some((path, reader)) = &mut self.current {
                match reader.next() {
                    Some(batch) => {
                        let mut records = decode_batch(path, &batch?, self.from, self.to)?;
                        records.retain(|r| self.seen.insert((r.topic, r.position)));
                        if !records.is_empty() {
                            return Ok(Some(records));
                        }
                        continue;
                    }
                    None => self.current = None,
                }
            }
            let Some(file) = self.files.pop_front() else {
                return Ok(None);
            };
            if self.day != Some(file.day) {
                self.day = Some(file.day);
                self.seen.clear();
            }
            let reader = File::open(&file.path).map_err(SinkError::io(&file.path))?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(reader)?
                .with_batch_size(READ_BATCH_ROWS)
                .build()?;
            self.files_read += 1;
            self.current = Some((file.path, reader));
        }
    }
}

impl Iterator for ArchiveReader {
    type Item = Result<Vec<ArchiveRecord>, SinkError>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = self.next_batch();
        if next.is_err() {
            // Stop after an error.
            self.files.clear();
            self.current = None;
        }
        next.transpose()
    }
}

/// Every archived record under `root` whose event time is in `[from, to)` (either bound may be
/// absent), sorted by (epoch, topic, partition, offset), each (topic, partition, offset) once:
/// the copy of the earliest epoch. A missing root is an empty archive.
pub fn read_archive(
    root: &Path,
    from: Option<Micros>,
    to: Option<Micros>,
) -> Result<Vec<ArchiveRecord>, SinkError> {
    let mut records = Vec::new();
    for batch in ArchiveReader::open(root, from, to)? {
        records.extend(batch?);
    }
    // The reader already dropped the copies within a date; this also covers any across dates.
    records.sort_unstable_by_key(|r| (r.topic, r.position, r.epoch));
    records.dedup_by_key(|r| (r.topic, r.position));
    records.sort_unstable_by_key(ArchiveRecord::sort_key);
    Ok(records)
}
