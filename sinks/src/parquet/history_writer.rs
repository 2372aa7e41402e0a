//! The live run's view history, streamed: expired rows are encoded into open part files a
//! chunk at a time as they arrive, and [`HistoryWriter::publish`] closes the parts (each
//! renamed into place atomically) just before a snapshot. Memory holds at most one chunk of
//! rows plus the writers' compressed pages, however many rows expire between snapshots.

use std::collections::btree_map::{BTreeMap, Entry};
use std::fs::File;
use std::path::{Path, PathBuf};

use ::parquet::arrow::ArrowWriter;
use pulso_events::views::{ViewRow, ViewSet};

use super::atomic::{commit, temp_path};
use super::history::{day_batches, part_path};
use super::WRITE_CHUNK_ROWS;
use crate::SinkError;

/// Appends expired rows to the history under a root folder (see the module docs).
pub struct HistoryWriter {
    root: PathBuf,
    /// Rows given but not encoded yet.
    pending: Vec<ViewRow>,
    /// The part being written per (view, day).
    open: BTreeMap<(&'static str, i64), OpenPart>,
}

/// One part file being written (to `<path>.tmp` until published).
struct OpenPart {
    path: PathBuf,
    writer: ArrowWriter<File>,
}

impl HistoryWriter {
    /// A writer of the history under `root` (`OUT/history`).
    pub fn new(root: &Path) -> Self {
        HistoryWriter {
            root: root.to_path_buf(),
            pending: Vec::new(),
            open: BTreeMap::new(),
        }
    }

    /// Takes the rows that expired at `epoch`, encoding them into the open parts once a
    /// chunk is pending. A part opened now is named `part-e<epoch>.parquet`.
    pub fn extend(
        &mut self,
        rows: impl IntoIterator<Item = ViewRow>,
        epoch: u64,
    ) -> Result<(), SinkError> {
        self.pending.extend(rows);
        if self.pending.len() >= WRITE_CHUNK_ROWS {
            self.encode_pending(epoch)?;
        }
        Ok(())
    }

    /// Makes every row given so far visible: encodes what is pending and closes the open
    /// parts. `epoch` names the parts opened now.
    pub fn publish(&mut self, epoch: u64) -> Result<(), SinkError> {
        self.encode_pending(epoch)?;
        for (_, part) in std::mem::take(&mut self.open) {
            commit(part.writer.into_inner()?, &part.path)?;
        }
        Ok(())
    }

    fn encode_pending(&mut self, epoch: u64) -> Result<(), SinkError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let expired = ViewSet::from_rows(self.pending.drain(..));
        let (root, open) = (&self.root, &mut self.open);
        day_batches(&expired, |day| {
            let part = match open.entry((day.name, day.day)) {
                Entry::Occupied(part) => part.into_mut(),
                Entry::Vacant(slot) => {
                    let path = part_path(root, day.name, day.day, &format!("e{epoch:020}"))?;
                    let tmp = temp_path(&path);
                    let out = File::create(&tmp).map_err(SinkError::io(&tmp))?;
                    let schema = day.batch.schema();
                    let writer = ArrowWriter::try_new(out, schema, Some(day.properties))?;
                    slot.insert(OpenPart { path, writer })
                }
            };
            Ok(part.writer.write(&day.batch)?)
        })
    }
}
