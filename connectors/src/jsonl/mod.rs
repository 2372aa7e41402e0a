//! JSONL folder source: one file per topic, `DIR/<topic>.jsonl` (e.g. `orders.events.jsonl`),
//! one record value per line; the order of lines is the arrival order.
//!
//! Records come back with partition 0, offset = 0-based line index, no key, and the line bytes
//! (without `\n` / `\r\n`) as value. Nothing is skipped: an empty line is a record (the decoder
//! rejects it as `malformed_json`), except the empty piece after the file's last newline.
//!
//! A folder holding a file whose extension is `jsonl` (in any case) but whose name is not
//! exactly `<topic>.jsonl` is refused by [`read_dir`] and [`stream_dir`] with an error naming
//! the files, so no input is skipped silently; [`scan_dir`] lists them instead. Files with
//! other extensions and sub-directories are not input and are left alone.
//!
//! [`stream_dir`] reads the same records lazily, interleaved across topics in proportion to
//! the files' lengths (the order `pulso replay` ingests them in).

mod error;
mod read;
mod stream;
mod write;

#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod tests;

pub use error::SourceError;
pub use read::{
    line_record, read_dir, read_topic_file, scan_dir, split_lines, topic_files,
    unknown_topic_files, JsonlDir,
};
pub use stream::{count_lines, stream_dir, Epochs, JsonlStream};
pub use write::{topic_path, write_dir, EXTENSION};
