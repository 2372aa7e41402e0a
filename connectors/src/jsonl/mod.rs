//! JSONL folder source: one file per topic, `DIR/<topic>.jsonl` (e.g. `orders.events.jsonl`),
//! one record value per line; the order of lines is the arrival order.
//!
//! Records come back with partition 0, offset = 0-based line index, no key, and the line bytes
//! (without `\n` / `\r\n`) as value. Nothing is skipped: an empty line is a record (the decoder
//! rejects it as `malformed_json`), except the empty piece after the file's last newline.
//!
//! Files named `<name>.jsonl` whose `<name>` is not a known topic are not read; [`scan_dir`]
//! returns their paths in [`JsonlDir::ignored`] (and [`read_dir`] drops that list). Other
//! files and sub-directories are ignored silently.
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
pub use read::{line_record, read_dir, read_topic_file, scan_dir, split_lines, JsonlDir};
pub use stream::{count_lines, stream_dir, Epochs, JsonlStream};
pub use write::{topic_path, write_dir};
