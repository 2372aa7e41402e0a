//! The deduplication operator's byte store: the raw bytes (and idempotency key) of each
//! key's winner, appended to a per-worker log outside the heap and read back only when a
//! later candidate needs them (a same-timestamp conflict, a hash match to confirm, or the
//! retraction of a replaced winner). The operator itself keeps 40 bytes per key. The
//! attribution of timeline entries ([`crate::attribution`]) keeps its entries in one too.
//!
//! The log is an anonymous temporary file (deleted by the OS when the worker ends), written
//! through an in-memory tail buffer; if no temporary file can be made, it stays in memory.
//! It is operator state, like a state backend's spill file: nothing else reads it, and a
//! restart rebuilds it by replaying the archive.

use std::fs::File;
use std::io::Write;
use std::num::NonZeroU32;
use std::os::unix::fs::FileExt;

use crate::pack::{Pack, Packer, Unpacker};

/// Bytes of the tail kept in memory before they are written to the file.
const FLUSH_AT: usize = 1 << 20;

/// Where one logged record is: its offset and length in the log (never 0: a record holds
/// its key's length, so an `Option<Slot>` takes no more room than a `Slot`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    offset: u64,
    len: NonZeroU32,
}

impl Pack for Slot {
    fn pack(&self, out: &mut Packer<'_>) {
        out.varint(self.offset);
        out.varint(u64::from(self.len.get()));
    }
    fn unpack(input: &mut Unpacker<'_>) -> Self {
        let offset = input.varint();
        let len = u32::try_from(input.varint()).ok().and_then(NonZeroU32::new);
        Slot {
            offset,
            len: len.expect("packed from a slot"),
        }
    }
}

/// An append-only log of `(key, bytes)` records.
#[derive(Debug)]
pub struct WinnerLog {
    file: Option<File>,
    /// Bytes already in the file.
    flushed: u64,
    /// Bytes not yet in the file (all of them when there is no file).
    tail: Vec<u8>,
    /// Records appended (live or not).
    records: u64,
}

impl Default for WinnerLog {
    fn default() -> Self {
        WinnerLog {
            file: tempfile::tempfile().ok(),
            flushed: 0,
            tail: Vec::new(),
            records: 0,
        }
    }
}

impl WinnerLog {
    /// A log held in memory only.
    pub fn in_memory() -> Self {
        WinnerLog {
            file: None,
            flushed: 0,
            tail: Vec::new(),
            records: 0,
        }
    }

    /// An empty log of the same kind (file or memory).
    pub fn empty_like(&self) -> Self {
        match self.file {
            Some(_) => WinnerLog::default(),
            None => WinnerLog::in_memory(),
        }
    }

    /// Records appended so far, live or not.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Appends `key` and `bytes` as one record.
    ///
    /// # Panics
    /// If the temporary file cannot be written (disk full): the operator cannot go on without
    /// its state, and the run fails loudly rather than miscount.
    pub fn append(&mut self, key: &[u8], bytes: &[u8]) -> Slot {
        self.append_parts(&[key], &[bytes])
    }

    /// Appends one record whose key is the concatenation of `key` and whose bytes are the
    /// concatenation of `bytes` (see [`WinnerLog::append`]).
    pub fn append_parts(&mut self, key: &[&[u8]], bytes: &[&[u8]]) -> Slot {
        let offset = self.flushed + self.tail.len() as u64;
        self.records += 1;
        let key_len: usize = key.iter().map(|part| part.len()).sum();
        let key_len = u16::try_from(key_len).expect("idempotency keys are at most 128 bytes");
        self.tail.extend_from_slice(&key_len.to_le_bytes());
        for part in key.iter().chain(bytes) {
            self.tail.extend_from_slice(part);
        }
        let len = u32::try_from(self.flushed + self.tail.len() as u64 - offset)
            .ok()
            .and_then(NonZeroU32::new)
            .expect("a record holds its key length and is under 4 GiB");
        if self.tail.len() >= FLUSH_AT {
            self.flush();
        }
        Slot { offset, len }
    }

    /// The key and bytes of the record at `slot`.
    pub fn read(&self, slot: Slot) -> (Vec<u8>, Vec<u8>) {
        let len = slot.len.get() as usize;
        let mut record = vec![0u8; len];
        if slot.offset >= self.flushed {
            let start = (slot.offset - self.flushed) as usize;
            record.copy_from_slice(&self.tail[start..start + len]);
        } else if let Some(file) = &self.file {
            // A record is flushed whole (flushes happen between appends).
            file.read_exact_at(&mut record, slot.offset)
                .expect("reading the deduplication log back");
        }
        let key_len = u16::from_le_bytes([record[0], record[1]]) as usize;
        let bytes = record.split_off(2 + key_len);
        record.drain(..2);
        (record, bytes)
    }

    fn flush(&mut self) {
        if let Some(file) = &mut self.file {
            file.write_all(&self.tail)
                .expect("writing the deduplication log (is the temporary folder full?)");
            self.flushed += self.tail.len() as u64;
            self.tail.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(mut log: WinnerLog) {
        let mut slots = Vec::new();
        for i in 0..5_000u32 {
            let key = format!("key-{i}");
            let bytes = vec![(i % 251) as u8; (i % 700) as usize];
            slots.push((log.append(key.as_bytes(), &bytes), key, bytes));
        }
        for (slot, key, bytes) in slots {
            assert_eq!(log.read(slot), (key.into_bytes(), bytes));
        }
    }

    #[test]
    fn records_read_back_from_the_file_and_the_tail() {
        let log = WinnerLog::default();
        assert!(log.file.is_some());
        roundtrip(log);
    }

    #[test]
    fn records_read_back_in_memory() {
        roundtrip(WinnerLog::in_memory());
    }
}
