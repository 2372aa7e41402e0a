//! Appending records to a JSONL folder.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use pulso_events::Topic;

use super::error::SourceError;

/// The extension of topic files.
pub const EXTENSION: &str = "jsonl";

/// The file of `topic` in `dir`: `DIR/<topic name>.jsonl`.
pub fn topic_path(dir: &Path, topic: Topic) -> PathBuf {
    dir.join(format!("{}.{EXTENSION}", topic.name()))
}

/// Appends each value as one line (`value` + `\n`) to its topic's file in `dir`, creating the
/// folder and files as needed. Returns how many records were written per topic.
///
/// A value containing `\n`, or ending in `\r`, cannot round-trip as one line and is refused
/// with [`SourceError::LineBreakInValue`] (records before it stay written).
pub fn write_dir(
    dir: &Path,
    records: impl IntoIterator<Item = (Topic, Vec<u8>)>,
) -> Result<BTreeMap<Topic, u64>, SourceError> {
    std::fs::create_dir_all(dir).map_err(|e| SourceError::io(dir, e))?;
    let mut files: BTreeMap<Topic, (PathBuf, BufWriter<File>)> = BTreeMap::new();
    let mut counts: BTreeMap<Topic, u64> = BTreeMap::new();
    for (index, (topic, value)) in records.into_iter().enumerate() {
        if value.contains(&b'\n') || value.ends_with(b"\r") {
            flush_all(&mut files)?;
            return Err(SourceError::LineBreakInValue { topic, index });
        }
        let (path, writer) = match files.entry(topic) {
            std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::btree_map::Entry::Vacant(entry) => {
                let path = topic_path(dir, topic);
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|e| SourceError::io(&path, e))?;
                entry.insert((path, BufWriter::with_capacity(1 << 16, file)))
            }
        };
        writer
            .write_all(&value)
            .and_then(|()| writer.write_all(b"\n"))
            .map_err(|e| SourceError::io(path.as_path(), e))?;
        *counts.entry(topic).or_default() += 1;
    }
    flush_all(&mut files)?;
    Ok(counts)
}

fn flush_all(files: &mut BTreeMap<Topic, (PathBuf, BufWriter<File>)>) -> Result<(), SourceError> {
    for (path, writer) in files.values_mut() {
        writer
            .flush()
            .map_err(|e| SourceError::io(path.as_path(), e))?;
    }
    Ok(())
}
