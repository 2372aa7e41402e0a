//! The timeline entries a replay collects, kept out of memory: they are most of a replay's
//! rows (one or two per event), and none of them is needed again until the views are written.
//!
//! Each worker buffers its timeline changes; when the buffer holds [`SpillConfig::rows`]
//! changes it is consolidated (sorted, cancelled pairs dropped) and appended as one sorted
//! run to the worker's anonymous spill file. At the end, [`TimelineRuns::merge`] reads every
//! worker's runs at once and merges them in row order, adding the changes of a row across
//! runs: the entries come out sorted, each once, without the whole view in memory (a writer
//! can take them as they come). Entity types, topics and event types are interned as they are
//! read back.
//!
//! A run's record: `u32` length of the rest, `i64` timestamp, `i64` change, the `u32` lengths
//! of the entity type, entity id, event id, topic, event type and summary, then their UTF-8
//! bytes one after the other (all little-endian): a record's texts are checked as UTF-8 in one
//! pass when read back. The file is deleted by the system when the replay drops it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use pulso_dataflows::consolidation::consolidate;
use pulso_dataflows::intern::Interner;
use pulso_events::views::{TimelineEntry, ViewRow};

use crate::error::DataflowError;

/// Where and when a replay worker spills its timeline changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpillConfig {
    /// The folder of the spill files; `None`: the system's temporary folder.
    pub dir: Option<PathBuf>,
    /// Changes a worker holds before it writes them out as a sorted run.
    pub rows: usize,
}

impl Default for SpillConfig {
    fn default() -> Self {
        SpillConfig {
            dir: None,
            rows: 1 << 16,
        }
    }
}

/// An anonymous file in `dir` (`None`: the system's temporary folder), deleted by the system
/// when it is dropped, even after kill -9.
pub(super) fn anonymous_file(dir: Option<&std::path::Path>) -> io::Result<File> {
    match dir {
        Some(dir) => tempfile::tempfile_in(dir),
        None => tempfile::tempfile(),
    }
}

/// One worker's timeline changes: the buffer and the runs already written.
pub(super) struct TimelineSpill {
    config: SpillConfig,
    buffer: Vec<(TimelineEntry, isize)>,
    file: Option<Arc<File>>,
    runs: Vec<(u64, u64)>,
    written: u64,
    /// The first write that failed: the replay then fails, and changes are no longer kept.
    error: Option<io::Error>,
}

impl TimelineSpill {
    /// An empty spill that writes runs of `config.rows` changes.
    pub(super) fn new(config: SpillConfig) -> Self {
        TimelineSpill {
            config,
            buffer: Vec::new(),
            file: None,
            runs: Vec::new(),
            written: 0,
            error: None,
        }
    }

    /// Adds a change; writes the buffer out as a run once it is full.
    pub(super) fn push(&mut self, entry: TimelineEntry, diff: isize) {
        if self.error.is_some() {
            return;
        }
        self.buffer.push((entry, diff));
        if self.buffer.len() >= self.config.rows.max(1) {
            consolidate(&mut self.buffer);
            if let Err(e) = self.write_run() {
                self.buffer.clear();
                self.error = Some(e);
            }
        }
    }

    /// Appends the consolidated buffer to the spill file as one run and empties the buffer.
    fn write_run(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let file = match &self.file {
            Some(file) => Arc::clone(file),
            None => {
                let file = anonymous_file(self.config.dir.as_deref())?;
                Arc::clone(self.file.insert(Arc::new(file)))
            }
        };
        let start = self.written;
        let mut out = io::BufWriter::with_capacity(1 << 20, &*file);
        let mut record = Vec::new();
        for (entry, diff) in self.buffer.drain(..) {
            record.clear();
            encode(&entry, diff, &mut record);
            out.write_all(&record)?;
            self.written += record.len() as u64;
        }
        out.flush()?;
        self.runs.push((start, self.written));
        Ok(())
    }

    /// The worker's runs: those written, and what its buffer still holds (consolidated).
    pub(super) fn finish(mut self) -> Result<TimelineRuns, DataflowError> {
        if let Some(e) = self.error {
            return Err(DataflowError::Spill(e));
        }
        consolidate(&mut self.buffer);
        let mut runs: Vec<Run> = match &self.file {
            Some(file) => self
                .runs
                .iter()
                .map(|&(start, end)| Run::File(FileRun::new(Arc::clone(file), start, end)))
                .collect(),
            None => Vec::new(),
        };
        if !self.buffer.is_empty() {
            runs.push(Run::Memory(self.buffer.into_iter()));
        }
        Ok(TimelineRuns { runs })
    }
}

/// Sorted runs of timeline changes, from one or more workers.
#[derive(Default)]
pub struct TimelineRuns {
    runs: Vec<Run>,
}

impl std::fmt::Debug for TimelineRuns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TimelineRuns({} runs)", self.runs.len())
    }
}

impl TimelineRuns {
    /// The runs of every worker together.
    pub(super) fn join(all: impl IntoIterator<Item = TimelineRuns>) -> Self {
        TimelineRuns {
            runs: all.into_iter().flat_map(|r| r.runs).collect(),
        }
    }

    /// These runs and `rows` (sorted entries present once, such as a [`ViewSet`]'s).
    ///
    /// [`ViewSet`]: pulso_events::views::ViewSet
    pub fn with_rows(mut self, rows: Vec<TimelineEntry>) -> Self {
        if !rows.is_empty() {
            self.runs.push(Run::Rows(rows.into_iter()));
        }
        self
    }

    /// The entries present at the end of the changes, in row order, each once. A row whose
    /// changes add up to neither 0 nor 1 is a [`DataflowError::Multiplicity`]; a spill file that
    /// cannot be read, a [`DataflowError::Spill`].
    pub fn merge(self) -> Merged {
        let mut merged = Merged {
            runs: self.runs,
            heads: BinaryHeap::new(),
            names: Interner::default(),
            error: None,
        };
        for run in 0..merged.runs.len() {
            if let Err(e) = merged.advance(run) {
                merged.error = Some(DataflowError::Spill(e));
                break;
            }
        }
        merged
    }

    /// [`TimelineRuns::merge`] into one vector.
    pub fn into_vec(self) -> Result<Vec<TimelineEntry>, DataflowError> {
        self.merge().collect()
    }
}

/// A sorted run: written to a spill file, left in memory, or rows present once.
enum Run {
    File(FileRun),
    Memory(std::vec::IntoIter<(TimelineEntry, isize)>),
    Rows(std::vec::IntoIter<TimelineEntry>),
}

/// The merge of [`TimelineRuns::merge`]: each run's least unread change waits in a heap.
pub struct Merged {
    runs: Vec<Run>,
    heads: BinaryHeap<Reverse<(TimelineEntry, usize, isize)>>,
    names: Interner,
    /// An error met while starting the merge, reported first.
    error: Option<DataflowError>,
}

impl Merged {
    /// Moves run `run`'s next change into the heap.
    fn advance(&mut self, run: usize) -> io::Result<()> {
        let next = match &mut self.runs[run] {
            Run::Memory(changes) => changes.next(),
            Run::Rows(rows) => rows.next().map(|row| (row, 1)),
            Run::File(file) => file.next(&mut self.names)?,
        };
        if let Some((entry, diff)) = next {
            self.heads.push(Reverse((entry, run, diff)));
        }
        Ok(())
    }

    /// The next entry present at the end.
    fn step(&mut self) -> Result<Option<TimelineEntry>, DataflowError> {
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        loop {
            let Some(Reverse((entry, run, mut total))) = self.heads.pop() else {
                return Ok(None);
            };
            self.advance(run).map_err(DataflowError::Spill)?;
            while let Some(Reverse((next, _, _))) = self.heads.peek() {
                if *next != entry {
                    break;
                }
                let Reverse((_, run, diff)) = self.heads.pop().expect("peeked");
                total += diff;
                self.advance(run).map_err(DataflowError::Spill)?;
            }
            match total {
                0 => continue,
                1 => return Ok(Some(entry)),
                n => {
                    return Err(DataflowError::Multiplicity(
                        Box::new(ViewRow::Timeline(entry)),
                        n,
                    ))
                }
            }
        }
    }
}

impl Iterator for Merged {
    type Item = Result<TimelineEntry, DataflowError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.step() {
            Ok(entry) => entry.map(Ok),
            Err(e) => {
                // An error ends the merge.
                self.heads.clear();
                self.runs.clear();
                Some(Err(e))
            }
        }
    }
}

/// A run of a spill file, read back a block at a time.
struct FileRun {
    file: Arc<File>,
    /// Where the next block is read from, and where the run ends.
    at: u64,
    end: u64,
    block: Vec<u8>,
    /// The first unread byte of `block`.
    offset: usize,
    /// The entity id of the run's last record: a run is sorted by entity, so the next record
    /// often names the same one and shares its text.
    entity_id: Arc<str>,
}

/// Bytes read from a spill file at a time, per run.
const BLOCK: usize = 256 * 1024;

impl FileRun {
    fn new(file: Arc<File>, start: u64, end: u64) -> Self {
        FileRun {
            file,
            at: start,
            end,
            block: Vec::new(),
            offset: 0,
            entity_id: Arc::from(""),
        }
    }

    /// The next change of the run, if any.
    fn next(&mut self, names: &mut Interner) -> io::Result<Option<(TimelineEntry, isize)>> {
        if !self.fill(4)? {
            return Ok(None);
        }
        let len = u32::from_le_bytes(
            self.block[self.offset..self.offset + 4]
                .try_into()
                .expect("4"),
        );
        let len = 4 + len as usize;
        if !self.fill(len)? {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "a spill run ends inside a record",
            ));
        }
        let record = &self.block[self.offset + 4..self.offset + len];
        let change = decode(record, names, &mut self.entity_id)?;
        self.offset += len;
        Ok(Some(change))
    }

    /// Makes `block` hold at least `n` unread bytes, reading on; false when the run ends first.
    fn fill(&mut self, n: usize) -> io::Result<bool> {
        if self.block.len() - self.offset >= n {
            return Ok(true);
        }
        self.block.drain(..self.offset);
        self.offset = 0;
        let want = (n - self.block.len()).max(BLOCK);
        let want = want.min((self.end - self.at) as usize);
        let start = self.block.len();
        self.block.resize(start + want, 0);
        self.file.read_exact_at(&mut self.block[start..], self.at)?;
        self.at += want as u64;
        Ok(self.block.len() >= n)
    }
}

/// The texts of a record, in the order they are written ([`TimelineEntry::texts`]).
const TEXTS: usize = 6;

/// Appends a change to `record` as a run's record (length prefix included).
fn encode(entry: &TimelineEntry, diff: isize, record: &mut Vec<u8>) {
    let texts: [&str; TEXTS] = entry.texts();
    let len = 16 + texts.iter().map(|t| 4 + t.len()).sum::<usize>();
    record.reserve(4 + len);
    record.extend_from_slice(&(len as u32).to_le_bytes());
    record.extend_from_slice(&entry.timestamp.to_le_bytes());
    record.extend_from_slice(&(diff as i64).to_le_bytes());
    for text in texts {
        record.extend_from_slice(&(text.len() as u32).to_le_bytes());
    }
    for text in texts {
        record.extend_from_slice(text.as_bytes());
    }
}

/// The change of a record written by [`encode`] (without its length prefix). Its entity id
/// shares `last_entity_id` when equal to it, and is kept there.
fn decode(
    record: &[u8],
    names: &mut Interner,
    last_entity_id: &mut Arc<str>,
) -> io::Result<(TimelineEntry, isize)> {
    let int = |at: usize| -> io::Result<i64> {
        let bytes = record.get(at..at + 8).ok_or_else(malformed)?;
        Ok(i64::from_le_bytes(bytes.try_into().expect("8 bytes")))
    };
    let (timestamp, diff) = (int(0)?, int(8)? as isize);
    let lengths = record.get(16..16 + 4 * TEXTS).ok_or_else(malformed)?;
    let all = std::str::from_utf8(&record[16 + 4 * TEXTS..]).map_err(|_| malformed())?;
    let mut texts = [""; TEXTS];
    let mut start = 0;
    for (text, len) in texts.iter_mut().zip(lengths.chunks_exact(4)) {
        let end = start + u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
        // `get` is `None` past the end and inside a character.
        *text = all.get(start..end).ok_or_else(malformed)?;
        start = end;
    }
    if start != all.len() {
        return Err(malformed());
    }
    let [entity_type, entity_id, event_id, topic, event_type, summary] = texts;
    if **last_entity_id != *entity_id {
        *last_entity_id = Arc::from(entity_id);
    }
    let entry = TimelineEntry {
        entity_type: names.name(entity_type),
        entity_id: Arc::clone(last_entity_id),
        timestamp,
        event_id: Arc::from(event_id),
        topic: names.name(topic),
        event_type: names.name(event_type),
        summary: Arc::from(summary),
    };
    Ok((entry, diff))
}

fn malformed() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "a spill record is malformed")
}

#[cfg(test)]
#[path = "spill_tests.rs"]
mod tests;
