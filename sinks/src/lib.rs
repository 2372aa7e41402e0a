//! Pulso's sinks: the views of `VIEWS.md` as Parquet files (written atomically and read back
//! exactly, [`parquet`]), as ClickHouse tables (written epoch by epoch, idempotently,
//! [`clickhouse`]); the rejected records as JSON lines ([`rejected`]); and the raw archive of
//! every accepted record with its progress records ([`archive`]), which recovery, backfill
//! and verify read back.

use std::path::{Path, PathBuf};

pub mod archive;
pub mod changes;
pub mod clickhouse;
pub mod parquet;
pub mod rejected;
#[cfg(test)]
mod test_rows;

pub use crate::changes::{diff_views, view_rows};
pub use crate::parquet::{
    clean_temp_files, read_history, read_views, write_history, write_views, HISTORY_DIR,
};
pub use crate::rejected::{write_rejected_jsonl, RejectedRecord};

/// Why a sink could not write or read its files.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// A file system operation failed.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The Parquet writer or reader failed.
    #[error("parquet: {0}")]
    Parquet(#[from] ::parquet::errors::ParquetError),
    /// Building or reading an Arrow batch failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// The ClickHouse sink failed.
    #[error("clickhouse: {0}")]
    ClickHouse(#[from] crate::clickhouse::ClickHouseError),
    /// Serializing a JSON line failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// A file read back does not have the columns or values Pulso writes.
    #[error("{file}: {message}")]
    Schema {
        /// The view file (its view name).
        file: String,
        /// What is wrong.
        message: String,
    },
}

impl SinkError {
    /// A function wrapping an I/O error on `path`, for `map_err`.
    pub fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SinkError + '_ {
        move |source| SinkError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
