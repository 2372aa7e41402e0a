//! Tests of the JSONL folder source.

use pulso_events::{Position, Topic};

use super::*;

#[test]
fn splits_lines_keeping_empty_ones_but_not_the_final_piece() {
    let lines: Vec<&[u8]> = split_lines(b"a\r\n\nb\n").collect();
    assert_eq!(lines, vec![&b"a"[..], b"", b"b"]);
    let lines: Vec<&[u8]> = split_lines(b"a\nb").collect();
    assert_eq!(lines, vec![&b"a"[..], b"b"]);
    assert_eq!(split_lines(b"").count(), 0);
    assert_eq!(split_lines(b"\n").count(), 1);
}

#[test]
fn round_trip_in_topic_order_with_line_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let input = vec![
        (Topic::CasosCreados, b"{\"x\":1}".to_vec()),
        (Topic::Orders, b"{\"a\":1}".to_vec()),
        (Topic::Orders, Vec::new()),
        (Topic::Orders, b"[1,2]".to_vec()),
        (Topic::CasosCreados, b"{".to_vec()),
        (Topic::Orders, Vec::new()),
    ];
    let counts = write_dir(dir.path(), input.clone()).unwrap();
    assert_eq!(counts[&Topic::Orders], 4);
    let records = read_dir(dir.path()).unwrap();
    let got: Vec<(Topic, i64, Vec<u8>)> = records
        .iter()
        .map(|r| (r.topic, r.position.offset, r.value.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Topic::Orders, 0, b"{\"a\":1}".to_vec()),
            (Topic::Orders, 1, Vec::new()),
            (Topic::Orders, 2, b"[1,2]".to_vec()),
            (Topic::Orders, 3, Vec::new()),
            (Topic::CasosCreados, 0, b"{\"x\":1}".to_vec()),
            (Topic::CasosCreados, 1, b"{".to_vec()),
        ]
    );
    assert!(records
        .iter()
        .all(|r| r.key.is_none() && r.position.partition == 0));

    // Appending continues the offsets.
    write_dir(dir.path(), vec![(Topic::Orders, b"{}".to_vec())]).unwrap();
    let records = read_dir(dir.path()).unwrap();
    let last = records.iter().rfind(|r| r.topic == Topic::Orders).unwrap();
    assert_eq!(
        last.position,
        Position {
            partition: 0,
            offset: 4
        }
    );
}

#[test]
fn unknown_topic_files_are_listed_and_not_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("payments.events.jsonl"), b"{}\n").unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"hello\n").unwrap();
    std::fs::write(dir.path().join("tracking.events.jsonl"), b"{}\r\n{}").unwrap();
    let scanned = scan_dir(dir.path()).unwrap();
    assert_eq!(scanned.records.len(), 2);
    assert_eq!(
        scanned.ignored,
        vec![dir.path().join("payments.events.jsonl")]
    );
}

#[test]
fn read_and_stream_refuse_files_that_are_not_a_known_topic() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("orders.events.jsonl"), b"{}\n").unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"hello\n").unwrap();
    for name in [
        "Orders.Events.jsonl",
        "orders.event.jsonl",
        "inventory.events.JSONL",
    ] {
        std::fs::write(dir.path().join(name), b"{}\n").unwrap();
    }
    let expected: Vec<_> = [
        "Orders.Events.jsonl",
        "inventory.events.JSONL",
        "orders.event.jsonl",
    ]
    .iter()
    .map(|n| dir.path().join(n))
    .collect();
    for err in [
        read_dir(dir.path()).unwrap_err(),
        crate::jsonl::stream_dir(dir.path()).unwrap_err(),
    ] {
        let message = err.to_string();
        let SourceError::UnknownTopicFiles { files, .. } = err else {
            panic!("unexpected error {err}");
        };
        assert_eq!(files, expected);
        assert!(message.contains("inventory.events.JSONL"), "{message}");
        assert!(message.contains("rename or move"), "{message}");
    }
    assert_eq!(scan_dir(dir.path()).unwrap().records.len(), 1);
}

#[test]
fn refuses_values_with_line_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let err = write_dir(dir.path(), vec![(Topic::Orders, b"{\n}".to_vec())]).unwrap_err();
    assert!(matches!(
        err,
        SourceError::LineBreakInValue { index: 0, .. }
    ));
}

#[test]
fn missing_dir_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = read_dir(&dir.path().join("absent")).unwrap_err();
    assert!(matches!(err, SourceError::Io { .. }));
}
