//! Tests of the streaming JSONL reader: same records as `read_dir`, in the order of a sort by
//! (fraction of the topic's length, index in `read_dir`'s output).

use std::path::Path;

use pulso_events::{SourceRecord, Topic};

use super::*;

/// The order `pulso replay` used to build in memory: a stable sort of `read_dir`'s records by
/// `(offset << 64) / topic length`, then index.
fn sorted(dir: &Path) -> Vec<SourceRecord> {
    let records = read_dir(dir).unwrap();
    let mut lengths = std::collections::HashMap::new();
    for record in &records {
        *lengths.entry(record.topic).or_insert(0u128) += 1;
    }
    let mut keyed: Vec<(u128, usize, SourceRecord)> = records
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            (
                ((r.position.offset as u128) << 64) / lengths[&r.topic],
                i,
                r,
            )
        })
        .collect();
    keyed.sort_by_key(|(fraction, i, _)| (*fraction, *i));
    keyed.into_iter().map(|(_, _, r)| r).collect()
}

fn write(dir: &Path, topic: Topic, text: &str) {
    std::fs::write(topic_path(dir, topic), text).unwrap();
}

#[test]
fn streams_every_record_in_interleaved_order() {
    let dir = tempfile::tempdir().unwrap();
    let lines = |n: usize| -> String { (0..n).map(|i| format!("{{\"i\":{i}}}\n")).collect() };
    write(dir.path(), Topic::Orders, &lines(10));
    write(dir.path(), Topic::Inventory, &lines(5));
    write(dir.path(), Topic::Tracking, &lines(7));
    write(dir.path(), Topic::CasosCreados, "a\r\n\n\r\nb");
    write(dir.path(), Topic::SlaViolados, "");
    write(dir.path(), Topic::SlaCumplidos, "\n");
    std::fs::write(dir.path().join("notes.txt"), "{}\n").unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();

    let expected = sorted(dir.path());
    assert_eq!(expected.len(), 10 + 5 + 7 + 4 + 1);
    let stream = stream_dir(dir.path()).unwrap();
    assert_eq!(stream.total(), expected.len() as u64);
    let got: Vec<SourceRecord> = stream.map(Result::unwrap).collect();
    assert_eq!(got, expected);
    // Ties go to the earlier topic: offset 0 of every topic first, in `Topic::ALL` order.
    let firsts: Vec<Topic> = got[..5].iter().map(|r| r.topic).collect();
    let mut all_order = firsts.clone();
    all_order.sort_by_key(|t| Topic::ALL.iter().position(|a| a == t));
    assert_eq!(firsts, all_order);

    for per_epoch in [1, 3, 26, 27, 100] {
        let epochs: Vec<Vec<SourceRecord>> = stream_dir(dir.path())
            .unwrap()
            .epochs(per_epoch)
            .map(Result::unwrap)
            .collect();
        let chunks: Vec<Vec<SourceRecord>> =
            expected.chunks(per_epoch).map(<[_]>::to_vec).collect();
        assert_eq!(epochs, chunks, "epochs of {per_epoch}");
    }
}

#[test]
fn counts_lines_like_split_lines() {
    let dir = tempfile::tempdir().unwrap();
    for text in ["", "\n", "a", "a\n", "a\r\n\nb", "\n\n\n", "x\ny\n"] {
        let path = dir.path().join("f");
        std::fs::write(&path, text).unwrap();
        let split = split_lines(text.as_bytes()).count() as u64;
        assert_eq!(count_lines(&path).unwrap(), split, "{text:?}");
    }
    let big = "0123456789\n".repeat(20_000) + "tail";
    let path = dir.path().join("big");
    std::fs::write(&path, &big).unwrap();
    assert_eq!(count_lines(&path).unwrap(), 20_001);
}

#[test]
fn empty_and_missing_folders() {
    let dir = tempfile::tempdir().unwrap();
    let stream = stream_dir(dir.path()).unwrap();
    assert_eq!(stream.total(), 0);
    assert_eq!(stream.epochs(10).count(), 0);
    let err = stream_dir(&dir.path().join("absent")).unwrap_err();
    assert!(matches!(err, SourceError::Io { .. }));
}
