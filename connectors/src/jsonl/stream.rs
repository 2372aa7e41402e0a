//! Streaming a JSONL folder: the records of every topic file, interleaved in proportion to the
//! files' lengths (as if the topics had arrived together), read lazily.
//!
//! [`stream_dir`] opens every known topic file of the folder (see the module docs of
//! [`super`]), counts its lines in a first pass over fixed-size buffers (the files on every
//! core), and then yields the records in the order of a stable sort by `(offset << 64) /
//! lines` (the record's position in its topic as a 64.64 fixed-point fraction of the topic's
//! length), ties broken by the record's index in [`super::read_dir`]'s output ([`Topic::ALL`]
//! order, then line order). Within one topic the fraction strictly increases with the offset,
//! so a k-way merge of the topics by `(fraction, topic order)` yields exactly that sorted
//! order, holding one record per topic. Records are built as [`super::read_topic_file`]
//! builds them.

use std::fs::File;
use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use pulso_events::{SourceRecord, Topic};

use super::error::SourceError;
use super::read::{line_record, refuse_unknown, topic_files, unknown_topic_files};

/// Buffer size of the line-counting pass and of the lazy readers.
const BUFFER: usize = 1 << 16;

/// The records of a JSONL folder in interleaved order (see the module docs); an iterator of
/// records, or of epochs with [`JsonlStream::epochs`].
#[derive(Debug)]
pub struct JsonlStream {
    /// One reader per topic file present, in [`Topic::ALL`] order.
    topics: Vec<TopicReader>,
    /// Records of every file.
    total: u64,
    /// Set once a read failed: the stream then ends.
    failed: bool,
}

/// One topic file being read: its length in lines and its next record.
#[derive(Debug)]
struct TopicReader {
    topic: Topic,
    path: PathBuf,
    reader: BufReader<File>,
    /// Lines of the file (first pass).
    lines: u64,
    /// Offset of the next line to read.
    next: u64,
    /// The next record and its sort key, once read.
    head: Option<(u128, SourceRecord)>,
    /// The line being read (reused: a record's bytes are then copied at their exact length,
    /// not in a vector grown by doubling, since records wait in epochs in flight).
    line: Vec<u8>,
}

/// Opens every known topic file present in `dir` and counts its lines; the records are read
/// as the returned stream is iterated.
pub fn stream_dir(dir: &Path) -> Result<JsonlStream, SourceError> {
    // Same checks as `read_dir`: a missing folder or an unknown topic file is an error.
    refuse_unknown(dir, unknown_topic_files(dir)?)?;
    let present = topic_files(dir);
    let counts = count_all(&present)?;
    let mut topics = Vec::new();
    for ((topic, path), lines) in present.into_iter().zip(counts) {
        let file = File::open(&path).map_err(|e| SourceError::io(&path, e))?;
        topics.push(TopicReader {
            topic,
            path,
            reader: BufReader::with_capacity(BUFFER, file),
            lines,
            next: 0,
            head: None,
            line: Vec::new(),
        });
    }
    let total = topics.iter().map(|t| t.lines).sum();
    let mut stream = JsonlStream {
        topics,
        total,
        failed: false,
    };
    for index in 0..stream.topics.len() {
        stream.topics[index].advance()?;
    }
    Ok(stream)
}

/// The lines of each file of `topics`, in order, counted on as many threads as the machine has
/// cores, each taking the next file not yet taken (the first pass reads every byte once).
fn count_all(topics: &[(Topic, PathBuf)]) -> Result<Vec<u64>, SourceError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let next = AtomicUsize::new(0);
    let mut counted: Vec<(usize, Result<u64, SourceError>)> = std::thread::scope(|scope| {
        let counting: Vec<_> = (0..threads.min(topics.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut counted = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some((_, path)) = topics.get(index) else {
                            return counted;
                        };
                        counted.push((index, count_lines(path)));
                    }
                })
            })
            .collect();
        counting
            .into_iter()
            .flat_map(|thread| thread.join().expect("a line-counting thread panicked"))
            .collect()
    });
    counted.sort_by_key(|(index, _)| *index);
    counted.into_iter().map(|(_, lines)| lines).collect()
}

/// Lines of a file as [`super::split_lines`] counts them: its `\n` bytes, plus one when the
/// file does not end with `\n` (and is not empty).
pub fn count_lines(path: &Path) -> Result<u64, SourceError> {
    let mut file = File::open(path).map_err(|e| SourceError::io(path, e))?;
    let mut buffer = vec![0u8; BUFFER];
    let mut newlines = 0u64;
    let mut last = None;
    loop {
        let n = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(SourceError::io(path, e)),
        };
        newlines += memchr::memchr_iter(b'\n', &buffer[..n]).count() as u64;
        last = Some(buffer[n - 1]);
    }
    Ok(match last {
        Some(b'\n') | None => newlines,
        Some(_) => newlines + 1,
    })
}

impl TopicReader {
    /// Reads the next line into `head` (none past the counted lines).
    fn advance(&mut self) -> Result<(), SourceError> {
        self.head = None;
        if self.next == self.lines {
            return Ok(());
        }
        let value = &mut self.line;
        value.clear();
        let read = self
            .reader
            .read_until(b'\n', value)
            .map_err(|e| SourceError::io(&self.path, e))?;
        if read == 0 {
            let e = std::io::Error::new(ErrorKind::UnexpectedEof, "file shrank while read");
            return Err(SourceError::io(&self.path, e));
        }
        if value.last() == Some(&b'\n') {
            value.pop();
        }
        if value.last() == Some(&b'\r') {
            value.pop();
        }
        let offset = self.next;
        self.next += 1;
        // Position within the topic as a fraction of its length (fixed point).
        let fraction = ((offset as u128) << 64) / self.lines as u128;
        let record = line_record(self.topic, offset as i64, value.as_slice().to_vec());
        self.head = Some((fraction, record));
        Ok(())
    }
}

impl JsonlStream {
    /// Records of every topic file (first pass), read or not.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The records cut into epochs of at most `per_epoch` records (at least 1), each full but
    /// the last.
    pub fn epochs(self, per_epoch: usize) -> Epochs {
        Epochs {
            stream: self,
            per_epoch: per_epoch.max(1),
        }
    }

    /// The next record, or `None` at the end (or after an error).
    fn next_record(&mut self) -> Result<Option<SourceRecord>, SourceError> {
        // Least (fraction, topic order): the first topic wins ties.
        let mut best: Option<(usize, u128)> = None;
        for (index, topic) in self.topics.iter().enumerate() {
            if let Some((fraction, _)) = &topic.head {
                if best.is_none_or(|(_, least)| *fraction < least) {
                    best = Some((index, *fraction));
                }
            }
        }
        let Some((index, _)) = best else {
            return Ok(None);
        };
        let topic = &mut self.topics[index];
        let record = topic.head.take().map(|(_, record)| record);
        topic.advance()?;
        Ok(record)
    }
}

impl Iterator for JsonlStream {
    type Item = Result<SourceRecord, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let next = self.next_record();
        self.failed = next.is_err();
        next.transpose()
    }
}

/// A [`JsonlStream`] cut into epochs (see [`JsonlStream::epochs`]).
#[derive(Debug)]
pub struct Epochs {
    stream: JsonlStream,
    per_epoch: usize,
}

impl Epochs {
    /// Records of every topic file (first pass), read or not.
    pub fn total(&self) -> u64 {
        self.stream.total
    }
}

impl Iterator for Epochs {
    type Item = Result<Vec<SourceRecord>, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut epoch = Vec::new();
        while epoch.len() < self.per_epoch {
            match self.stream.next() {
                Some(Ok(record)) => {
                    if epoch.is_empty() {
                        epoch.reserve_exact(self.per_epoch);
                    }
                    epoch.push(record);
                }
                Some(Err(e)) => return Some(Err(e)),
                None => break,
            }
        }
        (!epoch.is_empty()).then_some(Ok(epoch))
    }
}
