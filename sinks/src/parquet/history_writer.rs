//! The live run's view history, streamed: expired rows are encoded into open part files a
//! chunk at a time as they arrive, and [`HistoryWriter::publish`] closes the parts (each
//! renamed into place atomically) just before a snapshot. Memory holds at most one chunk of
//! rows plus the writers' compressed pages, however many rows expire between snapshots.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use ::parquet::arrow::ArrowWriter;
use pulso_events::views::{ViewRow, ViewSet};

use super::archive::{format_day, DATE_KEY};
use super::atomic::{parent_dir, sync_dir, temp_path};
use super::history::{days_of, files, of_day};
use super::{writer_properties, EXTENSION, WRITE_CHUNK_ROWS};
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
            let tmp = temp_path(&part.path);
            let file = part.writer.into_inner()?;
            file.sync_all().map_err(SinkError::io(&tmp))?;
            drop(file);
            fs::rename(&tmp, &part.path).map_err(SinkError::io(&part.path))?;
            sync_dir(parent_dir(&part.path))?;
        }
        Ok(())
    }

    fn encode_pending(&mut self, epoch: u64) -> Result<(), SinkError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let expired = ViewSet::from_rows(self.pending.drain(..));
        for file in files() {
            let days = days_of(file.name, &expired);
            let mut distinct = days.clone();
            distinct.sort_unstable();
            distinct.dedup();
            for day in distinct {
                let batch = (file.encode)(&of_day(file.name, &expired, &days, day))?;
                let part = match self.open.entry((file.name, day)) {
                    std::collections::btree_map::Entry::Occupied(part) => part.into_mut(),
                    std::collections::btree_map::Entry::Vacant(slot) => {
                        let dir = self
                            .root
                            .join(file.name)
                            .join(format!("{DATE_KEY}={}", format_day(day)?));
                        fs::create_dir_all(&dir).map_err(SinkError::io(&dir))?;
                        let path = dir.join(format!("part-e{epoch:020}.{EXTENSION}"));
                        let tmp = temp_path(&path);
                        let out = File::create(&tmp).map_err(SinkError::io(&tmp))?;
                        let writer = ArrowWriter::try_new(
                            out,
                            batch.schema(),
                            Some(writer_properties(None)?),
                        )?;
                        slot.insert(OpenPart { path, writer })
                    }
                };
                part.writer.write(&batch)?;
            }
        }
        Ok(())
    }
}
