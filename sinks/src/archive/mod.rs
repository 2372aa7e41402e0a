//! The raw archive: every accepted record, as Hive-partitioned Parquet under
//! `root/topic=…/date=…/` (values and keys at zstd level [`ZSTD_LEVEL`], offsets and event
//! times delta-packed, the other columns dictionary-encoded; row groups of at most
//! [`MAX_ROW_GROUP_ROWS`] rows, written atomically), and the progress records that say how far
//! it is complete. It is Pulso's record of what it read: recovery, `backfill` and `verify` read
//! it back as a source ([`read_archive`], [`ArchiveReader`]); the Parquet *views* are in
//! [`crate::parquet`].

mod headers;
mod progress;
mod read;
mod row;
#[cfg(test)]
mod tests;
mod write;

pub use progress::{
    progress_path, read_progress, write_progress, PartitionProgress, PartitionsProgress, Progress,
    PROGRESS_DIR,
};
pub use read::{list_archive_files, read_archive, ArchiveFile, ArchiveReader, READ_BATCH_ROWS};
pub use row::ArchiveRow;
pub use write::{
    archive_schema, clean_temp_files_recursive, day_of, format_day, parse_day,
    parse_part_file_name, part_file_name, partition_dir, ArchiveRecord, ArchiveWriter,
    COLUMNS as ARCHIVE_COLUMNS, DATE_KEY, TOPIC_KEY,
};

/// Most rows in one row group of the archive.
pub const MAX_ROW_GROUP_ROWS: usize = 128 * 1024;
/// The zstd compression level of the raw archive's values and keys (written once, kept long).
/// Level 1: on the generated input its files come out the same size as at level 3 (62.1 MB
/// against 64.0 MB for 1M records) for about a quarter less of the archive threads' CPU.
pub const ZSTD_LEVEL: i32 = 1;
