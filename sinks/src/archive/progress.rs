//! The progress record of the raw archive: one JSON file per worker,
//! `root/_progress/worker-<worker>.json`, written atomically after the worker's epoch files.
//! It holds the last epoch whose archive files are durable and, for every topic-partition the
//! worker read, the next offset to read and how many records before it were rejected, by
//! reason. Recovery replays the archive (accepted records), re-counts the rejected ones from
//! here, and resumes Kafka at the next offsets.
//!
//! The rejected counts of a partition are a function of its offset prefix (rejection depends
//! on the record alone), so merging the files of several workers, or of several runs with
//! different worker counts, is exact: the entry with the greatest next offset wins whole.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use pulso_events::RejectReason;
use serde::{Deserialize, Serialize};

use crate::parquet::atomic;
use crate::SinkError;

/// The directory of the progress files, under the archive root.
pub const PROGRESS_DIR: &str = "_progress";

/// The path of the progress file of `worker`: `root/_progress/worker-<worker>.json`.
pub fn progress_path(root: &Path, worker: usize) -> PathBuf {
    root.join(PROGRESS_DIR)
        .join(format!("worker-{worker}.json"))
}

/// Where one topic-partition stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartitionProgress {
    /// The next offset to read.
    pub next_offset: i64,
    /// How many records before `next_offset` were rejected, by reason (zero counts omitted).
    pub rejected: BTreeMap<RejectReason, u64>,
}

impl PartitionProgress {
    /// Progress at `next_offset` with no rejected record.
    pub fn at(next_offset: i64) -> Self {
        PartitionProgress {
            next_offset,
            rejected: BTreeMap::new(),
        }
    }
}

/// Progress per (Kafka topic name, partition).
pub type PartitionsProgress = BTreeMap<(String, i32), PartitionProgress>;

/// What a progress file holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct ProgressFile {
    worker: usize,
    /// The last epoch whose archive files are durable.
    epoch: u64,
    offsets: Vec<ProgressEntry>,
}

/// One topic-partition of a progress file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct ProgressEntry {
    topic: String,
    partition: i32,
    next_offset: i64,
    /// Absent in files of earlier versions: no rejected record known.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    rejected: BTreeMap<RejectReason, u64>,
}

/// Writes `worker`'s progress file `root/_progress/worker-<worker>.json` atomically: `epoch`,
/// the last epoch whose archive files are durable (write it only after
/// [`super::ArchiveWriter::write_epoch`] returned), and the progress of every (topic name,
/// partition) the worker read.
pub fn write_progress(
    root: &Path,
    worker: usize,
    epoch: u64,
    partitions: &PartitionsProgress,
) -> Result<PathBuf, SinkError> {
    let file = ProgressFile {
        worker,
        epoch,
        offsets: partitions
            .iter()
            .map(|((topic, partition), p)| ProgressEntry {
                topic: topic.clone(),
                partition: *partition,
                next_offset: p.next_offset,
                rejected: p
                    .rejected
                    .iter()
                    .filter(|(_, n)| **n > 0)
                    .map(|(r, n)| (*r, *n))
                    .collect(),
            })
            .collect(),
    };
    let path = progress_path(root, worker);
    let dir = root.join(PROGRESS_DIR);
    fs::create_dir_all(&dir).map_err(SinkError::io(&dir))?;
    let mut text = serde_json::to_vec_pretty(&file)?;
    text.push(b'\n');
    atomic::write_atomically(&path, |mut out| {
        std::io::Write::write_all(&mut out, &text).map_err(SinkError::io(&path))?;
        Ok(out)
    })?;
    Ok(path)
}

/// The progress of every worker of an archive, merged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Every (topic name, partition): the entry with the greatest next offset over the
    /// workers (a partition may have moved between workers across runs).
    pub offsets: PartitionsProgress,
    /// The last durable epoch of every worker that wrote a progress file.
    pub workers: BTreeMap<usize, u64>,
}

impl Progress {
    /// The greatest durable epoch of any worker (`None` without progress files): a restart
    /// numbers its epochs after it.
    pub fn last_epoch(&self) -> Option<u64> {
        self.workers.values().copied().max()
    }

    /// The greatest epoch every worker has made durable (`None` without progress files).
    pub fn complete_epoch(&self) -> Option<u64> {
        self.workers.values().copied().min()
    }

    /// The rejected records of every partition, summed per (topic name, reason).
    pub fn rejected(&self) -> BTreeMap<(String, RejectReason), u64> {
        let mut totals = BTreeMap::new();
        for ((topic, _), p) in &self.offsets {
            for (reason, n) in &p.rejected {
                *totals.entry((topic.clone(), *reason)).or_insert(0) += n;
            }
        }
        totals
    }
}

/// Reads and merges every `root/_progress/worker-*.json` (an archive without progress files
/// has the empty [`Progress`]).
pub fn read_progress(root: &Path) -> Result<Progress, SinkError> {
    let dir = root.join(PROGRESS_DIR);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Progress::default()),
        Err(e) => return Err(SinkError::io(&dir)(e)),
    };
    let mut progress = Progress::default();
    for entry in entries {
        let entry = entry.map_err(SinkError::io(&dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with("worker-") && name.ends_with(".json")) {
            continue;
        }
        let path = entry.path();
        let text = fs::read(&path).map_err(SinkError::io(&path))?;
        let file: ProgressFile = serde_json::from_slice(&text)?;
        let epoch = progress.workers.entry(file.worker).or_insert(file.epoch);
        *epoch = (*epoch).max(file.epoch);
        for e in file.offsets {
            let entry = PartitionProgress {
                next_offset: e.next_offset,
                rejected: e.rejected,
            };
            match progress.offsets.entry((e.topic, e.partition)) {
                Entry::Vacant(vacant) => {
                    vacant.insert(entry);
                }
                Entry::Occupied(mut current) => {
                    if entry.next_offset > current.get().next_offset {
                        current.insert(entry);
                    }
                }
            }
        }
    }
    Ok(progress)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{read_archive, ArchiveWriter};
    use crate::parquet::temp_path;

    /// Progress entries whose rejected count is a function of the offset, as in real reads.
    fn partitions(entries: &[(&str, i32, i64)]) -> PartitionsProgress {
        entries
            .iter()
            .map(|(t, p, o)| {
                let mut progress = PartitionProgress::at(*o);
                progress
                    .rejected
                    .insert(RejectReason::MalformedJson, *o as u64 / 10);
                progress.rejected.insert(RejectReason::TooLarge, 0);
                ((t.to_string(), *p), progress)
            })
            .collect()
    }

    #[test]
    fn progress_is_written_atomically_and_merged() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_progress(dir.path()).unwrap(), Progress::default());
        let w0 = ArchiveWriter::new(dir.path(), 0).unwrap();
        w0.write_progress(
            5,
            &partitions(&[("orders.events", 0, 100), ("casos.creados", 1, 7)]),
        )
        .unwrap();
        write_progress(
            dir.path(),
            1,
            4,
            &partitions(&[("orders.events", 1, 50), ("orders.events", 0, 90)]),
        )
        .unwrap();
        // Worker 0 moves on; its file is replaced.
        let path = w0
            .write_progress(
                6,
                &partitions(&[("orders.events", 0, 120), ("casos.creados", 1, 7)]),
            )
            .unwrap();
        assert_eq!(path, progress_path(dir.path(), 0));
        assert!(!temp_path(&path).exists());
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("too_large"),
            "zero counts are omitted: {text}"
        );
        let progress = read_progress(dir.path()).unwrap();
        let mut expected = partitions(&[
            ("casos.creados", 1, 7),
            ("orders.events", 0, 120),
            ("orders.events", 1, 50),
        ]);
        for p in expected.values_mut() {
            p.rejected.retain(|_, n| *n > 0);
        }
        assert_eq!(progress.offsets, expected);
        assert_eq!(
            progress.rejected(),
            BTreeMap::from([(
                ("orders.events".to_string(), RejectReason::MalformedJson),
                17
            )])
        );
        assert_eq!(progress.workers, BTreeMap::from([(0, 6), (1, 4)]));
        assert_eq!(progress.last_epoch(), Some(6));
        assert_eq!(progress.complete_epoch(), Some(4));
        // The progress directory is not part of the data.
        assert!(read_archive(dir.path(), None, None).unwrap().is_empty());
    }

    #[test]
    fn files_without_rejected_counts_still_read() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join(PROGRESS_DIR)).unwrap();
        fs::write(
            progress_path(dir.path(), 0),
            r#"{"worker":0,"epoch":3,"offsets":[{"topic":"t","partition":0,"next_offset":9}]}"#,
        )
        .unwrap();
        let progress = read_progress(dir.path()).unwrap();
        assert_eq!(
            progress.offsets,
            BTreeMap::from([(("t".to_string(), 0), PartitionProgress::at(9))])
        );
    }
}
