//! The order of a JSONL folder's records in `pulso replay`: the topics interleaved in
//! proportion to their length, as if they had arrived together. `pulso replay` streams this
//! order with `pulso_connectors::jsonl::stream_dir`; [`into_epochs`], an in-memory version,
//! is the reference it is checked against.

use pulso_events::SourceRecord;

/// Interleaves `records` (grouped by topic, each group in arrival order) and cuts them into
/// epochs of at most `per_epoch` records.
fn into_epochs(records: Vec<SourceRecord>, per_epoch: usize) -> Vec<Vec<SourceRecord>> {
    let mut lengths = std::collections::HashMap::new();
    for record in &records {
        *lengths.entry(record.topic).or_insert(0u64) += 1;
    }
    let mut keyed: Vec<(u128, usize, SourceRecord)> = records
        .into_iter()
        .enumerate()
        .map(|(i, record)| {
            // Position within its topic as a fraction of the topic's length (fixed point).
            let len = lengths[&record.topic] as u128;
            let fraction = ((record.position.offset as u128) << 64) / len.max(1);
            (fraction, i, record)
        })
        .collect();
    keyed.sort_by_key(|(fraction, i, _)| (*fraction, *i));
    let per_epoch = per_epoch.max(1);
    let mut epochs = Vec::with_capacity(keyed.len() / per_epoch + 1);
    let mut current = Vec::with_capacity(per_epoch);
    for (_, _, record) in keyed {
        current.push(record);
        if current.len() == per_epoch {
            epochs.push(std::mem::replace(
                &mut current,
                Vec::with_capacity(per_epoch),
            ));
        }
    }
    if !current.is_empty() {
        epochs.push(current);
    }
    epochs
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use pulso_connectors::jsonl;
    use pulso_events::{SourceRecord, Topic};

    use super::into_epochs;

    /// `into_epochs(read_dir(dir))` and `stream_dir(dir).epochs(..)` agree, record by record.
    fn assert_same_epochs(dir: &Path, per_epoch: usize) {
        let expected = into_epochs(jsonl::read_dir(dir).unwrap(), per_epoch);
        let stream = jsonl::stream_dir(dir).unwrap();
        let total = expected.iter().map(Vec::len).sum::<usize>();
        assert_eq!(stream.total(), total as u64);
        let got: Vec<Vec<SourceRecord>> = stream.epochs(per_epoch).map(Result::unwrap).collect();
        assert_eq!(got.len(), expected.len(), "epochs of {per_epoch}");
        for (e, (got, expected)) in got.iter().zip(&expected).enumerate() {
            assert!(got == expected, "epoch {e} of {per_epoch} differs");
        }
    }

    #[test]
    fn streamed_epochs_equal_into_epochs() {
        let dir = tempfile::tempdir().unwrap();
        // Lengths with common factors (equal fractions across topics: ties) and without;
        // empty lines, CRLF, a missing final newline, an empty file and an unknown topic.
        let lengths = [(Topic::Orders, 12), (Topic::CasosCreados, 6)];
        for (topic, n) in lengths {
            let text: String = (0..n).map(|i| format!("{{\"{topic}\":{i}}}\n")).collect();
            std::fs::write(jsonl::topic_path(dir.path(), topic), text).unwrap();
        }
        let odd = "{\"a\":1}\r\n\n{\"a\":2}\n\r\n{\"a\":3}\n{\"a\":4}\n{\"a\":5}";
        std::fs::write(jsonl::topic_path(dir.path(), Topic::Tracking), odd).unwrap();
        let long: String = (0..1009).map(|i| format!("{i}\n")).collect();
        std::fs::write(jsonl::topic_path(dir.path(), Topic::Inventory), long).unwrap();
        std::fs::write(jsonl::topic_path(dir.path(), Topic::SlaViolados), "").unwrap();
        std::fs::write(jsonl::topic_path(dir.path(), Topic::SlaCumplidos), "\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "{}\n").unwrap();
        for per_epoch in [0, 1, 5, 7, 100, 5000] {
            assert_same_epochs(dir.path(), per_epoch);
        }
    }

    /// On a real folder: `PULSO_ORDER_INPUT=/work/data/n1m cargo test --release -p pulso-pipeline
    /// --test jsonl_order`.
    #[test]
    fn streamed_epochs_equal_into_epochs_on_a_folder() {
        let Some(input) = std::env::var_os("PULSO_ORDER_INPUT") else {
            eprintln!("SKIPPED: set PULSO_ORDER_INPUT to a JSONL folder");
            return;
        };
        assert_same_epochs(Path::new(&input), 50_000);
    }
}
