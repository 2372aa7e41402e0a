//! Tests of the raw archive: layout, round trips, time ranges, idempotent rewrites, crash
//! leftovers, progress files.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use ::parquet::basic::{Compression, Encoding};
use ::parquet::file::reader::{FileReader, SerializedFileReader};
use pulso_events::time::{parse_rfc3339, MICROS_PER_DAY, MICROS_PER_HOUR};
use pulso_events::{Position, Topic};

use super::write::clean_temp_files_recursive;
use super::*;
use crate::parquet::atomic::{temp_path, write_atomically};

/// 2024-01-15T00:00:00Z.
fn t0() -> i64 {
    parse_rfc3339("2024-01-15T00:00:00Z").unwrap()
}

fn record(topic: Topic, partition: i32, offset: i64, timestamp: i64, epoch: u64) -> ArchiveRecord {
    ArchiveRecord {
        topic,
        position: Position { partition, offset },
        key: (offset % 3 != 0).then(|| format!("k{offset}").into_bytes()),
        value: format!("{{\"p\":{partition},\"o\":{offset}}}").into_bytes(),
        timestamp,
        epoch,
        headers: Vec::new(),
    }
}

/// The records of `epoch` for `worker`: two topics, partitions owned by the worker, event
/// times spread over two days (one late event on the day before).
fn epoch_records(epoch: u64, worker: usize) -> Vec<ArchiveRecord> {
    let mut records = Vec::new();
    for (topic, partition) in [
        (Topic::Orders, worker as i32),
        (Topic::CasosCreados, 2 + worker as i32),
    ] {
        for i in 0..10 {
            let offset = epoch as i64 * 10 + i;
            let timestamp = t0() + epoch as i64 * 10 * MICROS_PER_HOUR + i * 60_000_000;
            records.push(record(topic, partition, offset, timestamp, epoch));
        }
    }
    records.push(record(
        Topic::Orders,
        worker as i32,
        1_000 + epoch as i64,
        t0() - 1,
        epoch,
    ));
    records
}

/// Writes epochs 1..=3 from workers 0 and 1 and returns every record written, sorted.
fn write_sample(root: &Path) -> Vec<ArchiveRecord> {
    let mut all = Vec::new();
    for worker in 0..2 {
        let mut writer = ArchiveWriter::new(root, worker).unwrap();
        for epoch in 1..=3 {
            let records = epoch_records(epoch, worker);
            writer.write_epoch(epoch, &records).unwrap();
            all.extend(records);
        }
    }
    all.sort_by_key(ArchiveRecord::sort_key);
    all
}

/// Every file under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                out.push(path.strip_prefix(base).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn names_and_dates() {
    assert_eq!(
        part_file_name(7, 3),
        "part-e00000000000000000007-w003.parquet"
    );
    assert_eq!(
        parse_part_file_name("part-e00000000000000000007-w003.parquet"),
        Some((7, 3))
    );
    assert_eq!(
        parse_part_file_name(&part_file_name(u64::MAX, 1234)),
        Some((u64::MAX, 1234))
    );
    assert_eq!(parse_part_file_name("part-e7-w3.parquet.tmp"), None);
    assert_eq!(parse_part_file_name("part-0.parquet"), None);
    assert_eq!(format_day(day_of(t0())).unwrap(), "2024-01-15");
    assert_eq!(format_day(day_of(t0() - 1)).unwrap(), "2024-01-14");
    assert_eq!(format_day(day_of(-1)).unwrap(), "1969-12-31");
    assert_eq!(parse_day("2024-01-15"), Some(day_of(t0())));
    assert_eq!(parse_day("1969-12-31"), Some(-1));
    assert_eq!(parse_day("2024-1-5x"), None);
}

#[test]
fn layout_is_hive_partitioned_per_worker() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("archive");
    let mut writer = ArchiveWriter::new(&root, 4).unwrap();
    let written = writer.write_epoch(12, &epoch_records(1, 0)).unwrap();
    let expected: Vec<PathBuf> = [
        "topic=orders.events/date=2024-01-14/part-e00000000000000000012-w004.parquet",
        "topic=orders.events/date=2024-01-15/part-e00000000000000000012-w004.parquet",
        "topic=casos.creados/date=2024-01-15/part-e00000000000000000012-w004.parquet",
    ]
    .iter()
    .map(|p| root.join(p))
    .collect();
    assert_eq!(written, expected);
    assert_eq!(files_under(&root), {
        let mut e: Vec<PathBuf> = expected
            .iter()
            .map(|p| p.strip_prefix(&root).unwrap().to_path_buf())
            .collect();
        e.sort();
        e
    });
    // The epoch written is the argument, not the records' field.
    assert!(read_archive(&root, None, None)
        .unwrap()
        .iter()
        .all(|r| r.epoch == 12));
    assert!(writer.write_epoch(13, &[]).unwrap().is_empty());
}

#[test]
fn three_epochs_two_workers_read_back_equal() {
    let dir = tempfile::tempdir().unwrap();
    let all = write_sample(dir.path());
    let read = read_archive(dir.path(), None, None).unwrap();
    assert_eq!(read.len(), 2 * 3 * 21);
    assert_eq!(read, all);
    // Streaming gives the same records, file by file in (date, epoch) order.
    let files = list_archive_files(dir.path(), None, None).unwrap();
    let keys: Vec<_> = files.iter().map(|f| (f.day, f.epoch)).collect();
    assert!(keys.windows(2).all(|w| w[0] <= w[1]));
    let mut streamed: Vec<ArchiveRecord> = ArchiveReader::open(dir.path(), None, None)
        .unwrap()
        .flat_map(Result::unwrap)
        .collect();
    streamed.sort_by_key(ArchiveRecord::sort_key);
    assert_eq!(streamed, all);
    // A missing root is an empty archive.
    assert!(read_archive(&dir.path().join("none"), None, None)
        .unwrap()
        .is_empty());
}

#[test]
fn from_to_filters_records_and_prunes_dates() {
    let dir = tempfile::tempdir().unwrap();
    let all = write_sample(dir.path());
    let check = |from: Option<i64>, to: Option<i64>| {
        let expected: Vec<_> = all
            .iter()
            .filter(|r| from.is_none_or(|f| r.timestamp >= f) && to.is_none_or(|t| r.timestamp < t))
            .cloned()
            .collect();
        assert_eq!(
            read_archive(dir.path(), from, to).unwrap(),
            expected,
            "{from:?}..{to:?}"
        );
        expected.len()
    };
    assert_eq!(check(Some(t0()), None), 2 * 3 * 20);
    assert_eq!(check(None, Some(t0())), 6);
    let from = t0() + 20 * MICROS_PER_HOUR;
    let to = from + 5 * 60_000_000;
    assert_eq!(check(Some(from), Some(to)), 2 * 2 * 5); // epoch 2, minutes 0..5
    assert_eq!(check(Some(to), Some(from)), 0);
    // The day before is not even opened for a range starting at t0 (epoch 3 is the day after).
    let files = list_archive_files(dir.path(), Some(t0()), None).unwrap();
    assert!(files.iter().all(|f| f.day >= day_of(t0())));
    assert_eq!(files.len(), 2 * 3 * 2);
    assert!(
        list_archive_files(dir.path(), Some(t0() + 2 * MICROS_PER_DAY), None)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn rewriting_an_epoch_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let all = write_sample(dir.path());
    let before = files_under(dir.path());
    let bytes_before: Vec<Vec<u8>> = before
        .iter()
        .map(|p| fs::read(dir.path().join(p)).unwrap())
        .collect();
    // A restart rewrites epoch 2 of worker 1 with the same records.
    let mut writer = ArchiveWriter::new(dir.path(), 1).unwrap();
    writer.write_epoch(2, &epoch_records(2, 1)).unwrap();
    assert_eq!(files_under(dir.path()), before);
    let bytes_after: Vec<Vec<u8>> = before
        .iter()
        .map(|p| fs::read(dir.path().join(p)).unwrap())
        .collect();
    assert_eq!(bytes_after, bytes_before);
    assert_eq!(read_archive(dir.path(), None, None).unwrap(), all);
}

#[test]
fn offsets_archived_twice_under_two_epochs_are_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let all = write_sample(dir.path());
    // The restart numbered the re-read offsets of epoch 3 as epoch 4, and moved on to new ones.
    let mut writer = ArchiveWriter::new(dir.path(), 0).unwrap();
    let mut again = epoch_records(3, 0);
    again.push(record(Topic::Orders, 0, 5_000, t0(), 4));
    writer.write_epoch(4, &again).unwrap();
    let read = read_archive(dir.path(), None, None).unwrap();
    let mut expected = all.clone();
    expected.push(ArchiveRecord {
        epoch: 4,
        ..record(Topic::Orders, 0, 5_000, t0(), 4)
    });
    assert_eq!(read, expected);
    let mut streamed: Vec<ArchiveRecord> = ArchiveReader::open(dir.path(), None, None)
        .unwrap()
        .flat_map(Result::unwrap)
        .collect();
    streamed.sort_by_key(ArchiveRecord::sort_key);
    assert_eq!(streamed, expected);
}

#[test]
fn leftover_temp_files_are_cleaned_and_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let all = write_sample(dir.path());
    // A crash in the middle of a write: a truncated file under the temporary name.
    let final_path = dir
        .path()
        .join("topic=orders.events/date=2024-01-15")
        .join(part_file_name(9, 0));
    let good = fs::read(
        dir.path()
            .join("topic=orders.events/date=2024-01-15")
            .join(part_file_name(1, 0)),
    )
    .unwrap();
    let tmp = temp_path(&final_path);
    fs::write(&tmp, &good[..good.len() / 2]).unwrap();
    fs::write(dir.path().join("stray.tmp"), b"x").unwrap();
    // Readers skip it...
    assert_eq!(read_archive(dir.path(), None, None).unwrap(), all);
    // ...and a writer starting removes it, anywhere under the root.
    let _writer = ArchiveWriter::new(dir.path(), 0).unwrap();
    assert!(!tmp.exists());
    assert!(!final_path.exists());
    assert!(!dir.path().join("stray.tmp").exists());
    assert_eq!(clean_temp_files_recursive(dir.path()).unwrap(), 0);
    assert_eq!(read_archive(dir.path(), None, None).unwrap(), all);
}

#[test]
fn a_failed_write_leaves_no_file_under_the_final_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(part_file_name(1, 0));
    let result = write_atomically(&path, |mut file| {
        std::io::Write::write_all(&mut file, b"PAR1 half a file").unwrap();
        Err(crate::SinkError::Schema {
            file: "test".into(),
            message: "crash".into(),
        })
    });
    assert!(result.is_err());
    assert!(!path.exists());
    assert!(!temp_path(&path).exists());

    // A rewrite that fails keeps the previous complete file.
    let root = dir.path().join("archive");
    let mut writer = ArchiveWriter::new(&root, 0).unwrap();
    let records = vec![record(Topic::Orders, 0, 0, t0(), 1)];
    let written = writer.write_epoch(1, &records).unwrap();
    let before = fs::read(&written[0]).unwrap();
    fs::create_dir(temp_path(&written[0])).unwrap(); // the temporary file cannot be created
    assert!(writer.write_epoch(1, &records).is_err());
    assert_eq!(fs::read(&written[0]).unwrap(), before);
    fs::remove_dir(temp_path(&written[0])).unwrap();
    assert_eq!(read_archive(&root, None, None).unwrap(), records);
}

#[test]
fn binary_values_and_keys_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = ArchiveWriter::new(dir.path(), 0).unwrap();
    let records = vec![
        ArchiveRecord {
            topic: Topic::Tracking,
            position: Position {
                partition: 0,
                offset: 0,
            },
            key: Some(vec![0xff, 0x00, 0xfe, b'\n']),
            value: vec![0xc3, 0x28, 0x00, 0xa0, 0xa1, 0xf0, 0x28, 0x8c, 0xbc],
            timestamp: t0(),
            epoch: 1,
            headers: Vec::new(),
        },
        ArchiveRecord {
            topic: Topic::Tracking,
            position: Position {
                partition: 0,
                offset: 1,
            },
            key: None,
            value: Vec::new(),
            timestamp: t0() + 1,
            epoch: 1,
            headers: Vec::new(),
        },
        ArchiveRecord {
            topic: Topic::Tracking,
            position: Position {
                partition: 0,
                offset: 2,
            },
            key: Some(Vec::new()),
            value: "ñandú ✓".as_bytes().to_vec(),
            timestamp: t0() + 2,
            epoch: 1,
            headers: Vec::new(),
        },
    ];
    writer.write_epoch(1, &records).unwrap();
    assert_eq!(read_archive(dir.path(), None, None).unwrap(), records);
}

#[test]
fn values_are_zstd_integers_delta_packed_row_groups_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = ArchiveWriter::new(dir.path(), 0).unwrap();
    let n = MAX_ROW_GROUP_ROWS + 1000;
    let records: Vec<ArchiveRecord> = (0..n as i64)
        .map(|i| record(Topic::Notifications, (i % 4) as i32, i, t0() + i, 1))
        .collect();
    let written = writer.write_epoch(1, &records).unwrap();
    assert_eq!(written.len(), 1);
    let reader = SerializedFileReader::new(File::open(&written[0]).unwrap()).unwrap();
    let metadata = reader.metadata();
    assert_eq!(metadata.file_metadata().num_rows(), n as i64);
    assert_eq!(metadata.num_row_groups(), 2);
    for group in metadata.row_groups() {
        assert!(group.num_rows() as usize <= MAX_ROW_GROUP_ROWS);
        for column in group.columns() {
            let name = column.column_path().string();
            match name.as_str() {
                "key" | "value" => {
                    assert!(
                        matches!(column.compression(), Compression::ZSTD(_)),
                        "{name}"
                    );
                }
                _ => assert_eq!(column.compression(), Compression::UNCOMPRESSED, "{name}"),
            }
            if matches!(name.as_str(), "offset" | "timestamp") {
                assert!(column
                    .encodings()
                    .any(|e| e == Encoding::DELTA_BINARY_PACKED));
            }
        }
    }
    let read = read_archive(dir.path(), None, None).unwrap();
    assert_eq!(read.len(), n);
    // Sorted by (epoch, topic, partition, offset), as written by partition then offset.
    let mut expected = records;
    expected.sort_by_key(ArchiveRecord::sort_key);
    assert_eq!(read, expected);
    // The streaming reader hands out bounded batches.
    let batches: Vec<usize> = ArchiveReader::open(dir.path(), None, None)
        .unwrap()
        .map(|b| b.unwrap().len())
        .collect();
    assert!(batches.iter().all(|&b| b <= READ_BATCH_ROWS));
    assert_eq!(batches.iter().sum::<usize>(), n);
}

#[test]
fn new_directories_are_synced_through_their_parents() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("a/archive");
    let _writer = ArchiveWriter::new(&root, 0).unwrap();
    let date_dir = root.join("topic=orders.events/date=2024-01-15");
    let mut to_sync = std::collections::BTreeSet::new();
    super::write::create_dir(&root, &date_dir, &mut to_sync).unwrap();
    assert!(date_dir.is_dir());
    assert_eq!(
        to_sync.into_iter().collect::<Vec<_>>(),
        vec![root.clone(), root.join("topic=orders.events")]
    );
    let mut to_sync = std::collections::BTreeSet::new();
    super::write::create_dir(&root, &date_dir, &mut to_sync).unwrap();
    assert!(to_sync.is_empty());
}
