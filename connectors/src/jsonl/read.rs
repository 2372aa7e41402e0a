//! Reading a JSONL folder into [`SourceRecord`]s.

use std::path::{Path, PathBuf};

use pulso_events::{Position, SourceRecord, Topic};

use super::error::SourceError;
use super::write::{topic_path, EXTENSION};

/// What [`scan_dir`] found in a folder.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JsonlDir {
    /// The records of every known topic file, in [`Topic::ALL`] order, then line order.
    pub records: Vec<SourceRecord>,
    /// `*.jsonl` files whose name is not a known topic (not read), sorted
    /// ([`unknown_topic_files`]).
    pub ignored: Vec<PathBuf>,
}

/// Reads the records of every topic file in `dir` (see the module docs). A folder holding a
/// `*.jsonl` file (any case of the extension) that is not a known topic is refused with
/// [`SourceError::UnknownTopicFiles`] naming it: input is never skipped silently.
pub fn read_dir(dir: &Path) -> Result<Vec<SourceRecord>, SourceError> {
    refuse_unknown(dir, unknown_topic_files(dir)?)?;
    read_topic_files(dir)
}

/// Like [`read_dir`], but lists the `*.jsonl` files of unknown topics instead of refusing
/// them (they are not read).
pub fn scan_dir(dir: &Path) -> Result<JsonlDir, SourceError> {
    let ignored = unknown_topic_files(dir)?;
    let records = read_topic_files(dir)?;
    Ok(JsonlDir { records, ignored })
}

/// The records of every known topic file present in `dir`, in [`Topic::ALL`] order.
fn read_topic_files(dir: &Path) -> Result<Vec<SourceRecord>, SourceError> {
    let mut records = Vec::new();
    for (topic, path) in topic_files(dir) {
        records.extend(read_topic_file(&path, topic)?);
    }
    Ok(records)
}

/// The known topic files present in `dir`, in [`Topic::ALL`] order.
pub fn topic_files(dir: &Path) -> Vec<(Topic, PathBuf)> {
    Topic::ALL
        .into_iter()
        .map(|topic| (topic, topic_path(dir, topic)))
        .filter(|(_, path)| path.is_file())
        .collect()
}

/// The files of `dir` whose extension is `jsonl` in any case but whose name is not exactly
/// `<topic>.jsonl` for a known topic (`Orders.Events.jsonl`, `orders.event.jsonl`,
/// `inventory.events.JSONL`...), sorted. Fails when `dir` cannot be listed.
pub fn unknown_topic_files(dir: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let mut unknown = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| SourceError::io(dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| SourceError::io(dir, e))?.path();
        let is_jsonl = path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case(EXTENSION));
        let known = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".jsonl"))
            .and_then(Topic::from_name)
            .is_some();
        if is_jsonl && !known && path.is_file() {
            unknown.push(path);
        }
    }
    unknown.sort();
    Ok(unknown)
}

/// Fails with [`SourceError::UnknownTopicFiles`] when `unknown` is not empty.
pub(crate) fn refuse_unknown(dir: &Path, unknown: Vec<PathBuf>) -> Result<(), SourceError> {
    if unknown.is_empty() {
        return Ok(());
    }
    Err(SourceError::UnknownTopicFiles {
        dir: dir.to_path_buf(),
        files: unknown,
    })
}

/// Reads one topic file: partition 0, offset = 0-based line index, no key.
pub fn read_topic_file(path: &Path, topic: Topic) -> Result<Vec<SourceRecord>, SourceError> {
    let bytes = std::fs::read(path).map_err(|e| SourceError::io(path, e))?;
    Ok(split_lines(&bytes)
        .enumerate()
        .map(|(index, line)| line_record(topic, index as i64, line.to_vec()))
        .collect())
}

/// The record of line `index` (0-based) of a topic file: partition 0, offset = the line
/// index, no key.
pub fn line_record(topic: Topic, index: i64, value: Vec<u8>) -> SourceRecord {
    SourceRecord {
        topic,
        position: Position {
            partition: 0,
            offset: index,
        },
        key: None,
        value,
        tombstone: false,
        headers: Vec::new(),
    }
}

/// Splits file contents into lines without their `\n` / `\r\n`. Every line is returned,
/// empty ones included, except the empty piece after a final newline.
pub fn split_lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let empty = bytes.is_empty();
    body.split(|b| *b == b'\n')
        .filter(move |_| !empty)
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
}
