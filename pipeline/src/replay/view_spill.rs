//! The view rows a replay collects, kept out of memory until the replay ends.
//!
//! Each worker buffers each view's changes (module `collect`). A full buffer is consolidated;
//! if it still holds more than half its greatest room, it is written as one sorted run of
//! `(row, change)` pairs to the worker's anonymous spill file, and emptied. When the replay
//! ends, [`merge_changes`] merges every worker's runs of a view with what their buffers still
//! hold, adding a row's changes across runs: a row retracted after its run was written cancels
//! there. A worker thus holds a bounded buffer per view while it runs, not the views' rows
//! (before, it held up to twice them: benches/RESULTS.md, "View rows out of memory").
//!
//! A run is a sequence of bincode-encoded `(row, change)` pairs. The file is deleted by the
//! system when the replay drops it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::spill::anonymous_file;
use crate::error::DataflowError;

/// One run a worker wrote: where it is in the worker's file and how many changes it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Run {
    offset: u64,
    len: u64,
    changes: u64,
}

/// The runs of one view's changes that a worker wrote.
pub(super) type Runs = Vec<Run>;

/// One worker's share of a view's changes: its file, the runs of the view in it, and the
/// consolidated changes its buffer still holds.
pub(super) type Part<'f, T> = (Option<&'f File>, Runs, Vec<(T, isize)>);

/// One worker's spill file of view changes.
pub(super) struct ViewSpill {
    /// The folder of the file; `None`: the system's temporary folder.
    dir: Option<PathBuf>,
    file: Option<File>,
    written: u64,
    /// The encoding of the run being written (kept for the next one).
    scratch: Vec<u8>,
    /// The first write that failed: the replay then fails, and changes are no longer kept.
    error: Option<io::Error>,
}

impl ViewSpill {
    /// Nothing written yet; the file, when one is needed, is made in `dir`.
    pub(super) fn new(dir: Option<PathBuf>) -> Self {
        ViewSpill {
            dir,
            file: None,
            written: 0,
            scratch: Vec::new(),
            error: None,
        }
    }

    /// Moves `changes` (consolidated: sorted, each row once) to the file as one run, appended
    /// to `runs`. After a failed write the changes are dropped (the replay fails at its end).
    pub(super) fn write<V: Serialize>(&mut self, changes: &mut Vec<(V, isize)>, runs: &mut Runs) {
        if self.error.is_none() {
            if let Err(e) = self.append(changes, runs) {
                self.error = Some(e);
            }
        }
        changes.clear();
    }

    fn append<V: Serialize>(&mut self, changes: &[(V, isize)], runs: &mut Runs) -> io::Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        self.scratch.clear();
        for (row, diff) in changes {
            bincode::serialize_into(&mut self.scratch, &(row, *diff as i64))
                .map_err(io::Error::other)?;
        }
        let file = match &mut self.file {
            Some(file) => file,
            None => self.file.insert(anonymous_file(self.dir.as_deref())?),
        };
        file.write_all_at(&self.scratch, self.written)?;
        runs.push(Run {
            offset: self.written,
            len: self.scratch.len() as u64,
            changes: changes.len() as u64,
        });
        self.written += self.scratch.len() as u64;
        Ok(())
    }

    /// The first write error, if any (then changes were lost and the replay must fail).
    pub(super) fn failure(&mut self) -> Option<DataflowError> {
        self.error.take().map(DataflowError::Spill)
    }

    /// The file the runs are in (none before the first run).
    pub(super) fn file(&self) -> Option<&File> {
        self.file.as_ref()
    }
}

/// Why the changes of a view could not be merged.
#[derive(Debug)]
pub(super) enum MergeError<T> {
    /// A spill file could not be read back.
    Spill(io::Error),
    /// A row whose changes add up to neither 0 nor 1, and their sum.
    Multiplicity(T, isize),
}

/// The rows present at the end of a view's changes, sorted, from every worker's [`Part`].
pub(super) fn merge_changes<T: Ord + DeserializeOwned>(
    parts: Vec<Part<'_, T>>,
) -> Result<Vec<T>, MergeError<T>> {
    let mut sources: Vec<Source<'_, T>> = Vec::new();
    for (file, runs, changes) in parts {
        if let Some(file) = file {
            sources.extend(runs.into_iter().map(|run| Source::File {
                reader: BufReader::with_capacity(
                    (run.len as usize).min(READ_BLOCK),
                    RunReader {
                        file,
                        at: run.offset,
                        end: run.offset + run.len,
                    },
                ),
                left: run.changes,
            }));
        }
        sources.push(Source::Memory(changes.into_iter()));
    }
    let mut heads = BinaryHeap::with_capacity(sources.len());
    for (index, source) in sources.iter_mut().enumerate() {
        if let Some((row, diff)) = source.next().map_err(MergeError::Spill)? {
            heads.push(Reverse((row, index, diff)));
        }
    }
    let mut rows = Vec::new();
    while let Some(Reverse((row, index, mut total))) = heads.pop() {
        let mut advance = |index: usize, heads: &mut BinaryHeap<_>| -> Result<(), MergeError<T>> {
            if let Some((row, diff)) = sources[index].next().map_err(MergeError::Spill)? {
                heads.push(Reverse((row, index, diff)));
            }
            Ok(())
        };
        advance(index, &mut heads)?;
        while heads
            .peek()
            .is_some_and(|Reverse((next, _, _))| *next == row)
        {
            let Reverse((_, index, diff)) = heads.pop().expect("peeked");
            total += diff;
            advance(index, &mut heads)?;
        }
        match total {
            0 => {}
            1 => rows.push(row),
            n => return Err(MergeError::Multiplicity(row, n)),
        }
    }
    Ok(rows)
}

/// Bytes read from a run at a time.
const READ_BLOCK: usize = 64 * 1024;

/// Sorted changes of one view: a run in a worker's file, or a worker's buffer.
enum Source<'f, T> {
    File {
        reader: BufReader<RunReader<'f>>,
        left: u64,
    },
    Memory(std::vec::IntoIter<(T, isize)>),
}

impl<T: DeserializeOwned> Source<'_, T> {
    fn next(&mut self) -> io::Result<Option<(T, isize)>> {
        match self {
            Source::Memory(changes) => Ok(changes.next()),
            Source::File { left: 0, .. } => Ok(None),
            Source::File { reader, left } => {
                *left -= 1;
                let (row, diff): (T, i64) =
                    bincode::deserialize_from(reader).map_err(io::Error::other)?;
                Ok(Some((row, diff as isize)))
            }
        }
    }
}

/// Reads the bytes of one run, by position (the runs of a file are read side by side).
struct RunReader<'f> {
    file: &'f File,
    at: u64,
    end: u64,
}

impl Read for RunReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min((self.end - self.at) as usize);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.at)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "a spill run ends early",
            ));
        }
        self.at += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `changes` (consolidated) as one run of `spill`.
    fn written(spill: &mut ViewSpill, runs: &mut Runs, changes: &[(String, isize)]) {
        let mut changes = changes.to_vec();
        spill.write(&mut changes, runs);
        assert!(changes.is_empty(), "a written run leaves the buffer");
    }

    fn row(text: &str) -> String {
        text.to_string()
    }

    #[test]
    fn runs_of_several_workers_merge_with_their_buffers_into_the_rows_present() {
        let (mut first, mut second) = (ViewSpill::new(None), ViewSpill::new(None));
        let (mut first_runs, mut second_runs) = (Runs::new(), Runs::new());
        // "b" is written, then retracted in a later run; "d" moves between workers.
        written(&mut first, &mut first_runs, &[(row("a"), 1), (row("b"), 1)]);
        written(
            &mut first,
            &mut first_runs,
            &[(row("b"), -1), (row("d"), -1)],
        );
        written(
            &mut second,
            &mut second_runs,
            &[(row("d"), 1), (row("e"), 1)],
        );
        assert_eq!(first_runs.len(), 2);
        let buffers = (vec![(row("c"), 1)], vec![(row("d"), 1), (row("f"), 1)]);
        let merged = merge_changes(vec![
            (first.file(), first_runs.clone(), buffers.0.clone()),
            (second.file(), second_runs.clone(), buffers.1),
        ]);
        assert_eq!(
            merged.ok(),
            Some(vec![row("a"), row("c"), row("d"), row("e"), row("f")])
        );
        assert!(first.failure().is_none() && second.failure().is_none());

        // The same runs with "e" once more in a buffer: present twice.
        let twice = merge_changes(vec![
            (first.file(), first_runs, buffers.0),
            (second.file(), second_runs, vec![(row("e"), 1)]),
        ]);
        assert!(
            matches!(twice, Err(MergeError::Multiplicity(ref r, 2)) if r == "e"),
            "{twice:?}"
        );
    }

    #[test]
    fn buffers_alone_merge_and_nothing_is_written() {
        let spill = ViewSpill::new(None);
        let merged = merge_changes(vec![
            (spill.file(), Runs::new(), vec![(2, 1), (5, 1)]),
            (None, Runs::new(), vec![(1, 1), (2, -1), (3, 1)]),
        ]);
        assert_eq!(merged.ok(), Some(vec![1, 3, 5]));
        assert!(spill.file().is_none());
        assert_eq!(merge_changes::<u32>(vec![]).ok(), Some(vec![]));
    }

    #[test]
    fn a_run_cut_short_is_a_spill_error() {
        let mut spill = ViewSpill::new(None);
        let mut runs = Runs::new();
        written(&mut spill, &mut runs, &[(row("a"), 1), (row("b"), 1)]);
        runs[0].len -= 1;
        let merged = merge_changes::<String>(vec![(spill.file(), runs, vec![])]);
        assert!(matches!(merged, Err(MergeError::Spill(_))), "{merged:?}");
    }
}
