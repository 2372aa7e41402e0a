//! Errors of the JSONL folder source.

use std::path::PathBuf;

use pulso_events::Topic;

/// Why reading or writing a JSONL folder failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// An I/O error on a file or directory.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The folder holds `*.jsonl` files that are not a known topic: they would not be read.
    #[error(
        "{}: {} not a known topic and would not be read: {} (topic files are named \
         exactly `<topic>.jsonl`, e.g. `orders.events.jsonl`; rename or move them)",
        dir.display(),
        if files.len() == 1 { "this file is" } else { "these files are" },
        files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    UnknownTopicFiles {
        /// The folder.
        dir: PathBuf,
        /// The files, sorted.
        files: Vec<PathBuf>,
    },
    /// A value to write contains a line break, which would split it into two records.
    #[error("record {index} of topic {topic} contains a line break and cannot be written as one JSONL line")]
    LineBreakInValue {
        /// The topic of the record.
        topic: Topic,
        /// The 0-based index of the record in the written sequence.
        index: usize,
    },
}

impl SourceError {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SourceError::Io {
            path: path.into(),
            source,
        }
    }
}
