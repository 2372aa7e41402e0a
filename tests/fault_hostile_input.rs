//! Fault F6, hostile input: a replay folder whose topic file holds every kind of malformed
//! line (invalid UTF-8, a 5 MB line, 100k-deep nesting, 1e400, NaN, negative money, years
//! 0000 and 9999, duplicate keys, a BOM, CRLF, empty lines, no final newline) next to valid
//! ones. `pulso replay` must finish, count every line as a record, accept the valid ones and
//! write every rejected line to `rejected.jsonl` with its reason. Prints its figure.

use std::collections::BTreeMap;
use std::process::Command;

use pulso_events::time::{parse_rfc3339, Granularity};
use pulso_sinks::parquet::read_views;

/// A valid `ORDER_CREATED` for order `n` (the last line of the file carries no newline).
fn created(n: usize, total: &str, timestamp: &str) -> String {
    format!(
        r#"{{"event_id":"e-{n}","event_type":"ORDER_CREATED","order_id":"o-{n}","customer_id":"c-1","items":[{{"sku":"S-1","quantity":1,"unit_price":{total}}}],"total":{total},"timestamp":"{timestamp}"}}"#
    )
}

#[test]
fn hostile_lines_are_all_counted_and_every_rejection_is_written_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (input, out) = (dir.path().join("in"), dir.path().join("out"));
    std::fs::create_dir(&input).unwrap();
    let ts = "2024-01-15T10:00:00Z";
    // (line bytes, the reason it must be rejected with, or None when it must be accepted)
    let mut lines: Vec<(Vec<u8>, Option<&str>)> = vec![
        (created(1, "10.50", ts).into_bytes(), None),
        (
            b"{\"event_id\":\"\xff\xfe\"}".to_vec(),
            Some("malformed_json"),
        ),
        (
            format!("{{\"pad\":\"{}\"}}", "x".repeat(5 << 20)).into_bytes(),
            Some("too_large"),
        ),
        (
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
            Some("malformed_json"),
        ),
        (created(2, "1e400", ts).into_bytes(), Some("")),
        (created(3, "NaN", ts).into_bytes(), Some("malformed_json")),
        (created(4, "-5.00", ts).into_bytes(), Some("invalid_field")),
        (
            created(5, "1.00", "0000-01-01T00:00:00Z").into_bytes(),
            Some(""),
        ),
        (
            created(6, "1.00", "9999-12-31T23:59:59Z").into_bytes(),
            Some("invalid_field"),
        ),
        (
            format!(
                r#"{{"event_id":"e-7","event_id":"e-7b","event_type":"ORDER_CREATED"{}"#,
                &created(7, "1.00", ts)
                    [r#"{"event_id":"e-7","event_type":"ORDER_CREATED""#.len()..]
            )
            .into_bytes(),
            Some(""),
        ),
        (
            [
                b"\xef\xbb\xbf".as_slice(),
                created(8, "1.00", ts).as_bytes(),
            ]
            .concat(),
            Some("malformed_json"),
        ),
        (Vec::new(), Some("malformed_json")),
        ([created(9, "2.00", ts).as_bytes(), b"\r"].concat(), None),
        (Vec::new(), Some("malformed_json")),
        (created(10, "3.00", ts).into_bytes(), None),
        // Amounts at the limit are accepted and their sum is exact; above it, rejected.
        (created(11, "9999999999999999.99", ts).into_bytes(), None),
        (created(12, "9999999999999999.99", ts).into_bytes(), None),
        (created(13, "9999999999999999.99", ts).into_bytes(), None),
        (
            created(14, "12345678901234567.89", ts).into_bytes(),
            Some("invalid_field"),
        ),
        (
            created(15, "92233720368547758.07", ts).into_bytes(),
            Some("invalid_field"),
        ),
    ];
    // Duplicate keys and year 0000 may be accepted or rejected, as long as they are counted:
    // `Some("")` means "any outcome, but if rejected, with a reason".
    let mut text: Vec<u8> = Vec::new();
    for (i, (line, _)) in lines.iter().enumerate() {
        text.extend_from_slice(line);
        if i + 1 < lines.len() {
            text.push(b'\n');
        }
    }
    std::fs::write(input.join("orders.events.jsonl"), &text).unwrap();

    let started = std::time::Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_pulso"))
        .args(["replay", "--workers", "2", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "replay failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let health = read_views(&out.join("views")).unwrap().pipeline_health;
    let orders = health
        .iter()
        .find(|h| h.topic == "orders.events")
        .expect("orders.events in pipeline_health");
    assert_eq!(orders.records, lines.len() as i64, "every line is a record");

    let rejected: BTreeMap<i64, String> = std::fs::read_to_string(out.join("rejected.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["topic"], "orders.events");
            let reason = v["reason"].as_str().unwrap().to_owned();
            assert!(!reason.is_empty() && !v["detail"].as_str().unwrap().is_empty());
            (v["offset"].as_i64().unwrap(), reason)
        })
        .collect();
    assert_eq!(
        orders.rejected.iter().sum::<i64>(),
        rejected.len() as i64,
        "rejected counted = written"
    );
    for (offset, (_, expected)) in lines.iter_mut().enumerate() {
        let got = rejected.get(&(offset as i64));
        match expected {
            None => assert_eq!(got, None, "line {offset} must be accepted"),
            Some("") => {}
            Some(reason) => assert_eq!(got.map(String::as_str), Some(*reason), "line {offset}"),
        }
    }
    // The day's pending revenue is the exact sum of the accepted totals of that day.
    let pending: i128 = read_views(&out.join("views"))
        .unwrap()
        .order_metrics
        .iter()
        .filter(|m| {
            m.granularity == Granularity::Day
                && m.window_start == Granularity::Day.floor(parse_rfc3339(ts).unwrap())
        })
        .map(|m| m.revenue_pending_total)
        .sum();
    let accepted: i128 = [1_050, 200, 300]
        .into_iter()
        .chain([999_999_999_999_999_999; 3])
        .sum::<i128>()
        // The duplicate-key line (offset 9) may be accepted.
        + if rejected.contains_key(&9) { 0 } else { 100 };
    assert_eq!(pending, accepted, "the day's pending revenue");
    println!(
        "F6 hostile input: {} lines in, {} records counted, {} rejected (every one in \
         rejected.jsonl with its reason), replay exit 0 in {:.2?}",
        lines.len(),
        orders.records,
        rejected.len(),
        started.elapsed()
    );
}
