//! Reading a JSONL folder into [`SourceRecord`]s.

use std::path::{Path, PathBuf};

use pulso_events::{Position, SourceRecord, Topic};

use super::error::SourceError;
use super::write::topic_path;

/// What [`scan_dir`] found in a folder.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JsonlDir {
    /// The records of every known topic file, in [`Topic::ALL`] order, then line order.
    pub records: Vec<SourceRecord>,
    /// `*.jsonl` files whose name is not a known topic (not read), sorted.
    pub ignored: Vec<PathBuf>,
}

/// Reads the records of every known topic file present in `dir` (see the module docs).
/// Files of unknown topics are ignored; use [`scan_dir`] to get their names.
pub fn read_dir(dir: &Path) -> Result<Vec<SourceRecord>, SourceError> {
    Ok(scan_dir(dir)?.records)
}

/// Like [`read_dir`], and also lists the `*.jsonl` files of unknown topics.
pub fn scan_dir(dir: &Path) -> Result<JsonlDir, SourceError> {
    let mut ignored = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| SourceError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| SourceError::io(dir, e))?;
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if let Some(stem) = name.strip_suffix(".jsonl") {
            if Topic::from_name(stem).is_none() && path.is_file() {
                ignored.push(path);
            }
        }
    }
    ignored.sort();

    let mut records = Vec::new();
    for topic in Topic::ALL {
        let path = topic_path(dir, topic);
        if path.is_file() {
            records.extend(read_topic_file(&path, topic)?);
        }
    }
    Ok(JsonlDir { records, ignored })
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
