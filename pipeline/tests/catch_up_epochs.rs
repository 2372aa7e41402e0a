//! The live loop keeps an epoch open longer while its source is behind
//! (`RecordSource::behind`), and the views still end as one batch replay of the records.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{assert_same_views, live_config, replayed, run, stream};
use pulso_events::SourceRecord;
use pulso_pipeline::{EpochRead, RecordSource};
use pulso_queries::ViewStore;

/// Hands out its records 100 per poll, reports a backlog while more than `backlog_above` are
/// left, and counts the records of each epoch it is told of.
struct Backlogged {
    records: Vec<SourceRecord>,
    backlog_above: usize,
    epochs: Arc<Mutex<Vec<usize>>>,
}

impl RecordSource for Backlogged {
    fn poll(&mut self, max: usize, _timeout: Duration) -> Option<Vec<SourceRecord>> {
        if self.records.is_empty() {
            return None;
        }
        let n = max.min(100).min(self.records.len());
        Some(self.records.drain(..n).collect())
    }

    fn behind(&self) -> bool {
        self.records.len() > self.backlog_above
    }

    fn epoch_read(&mut self, _epoch: u64, read: &mut EpochRead) {
        let n = read.accepted.len() + read.rejected.len();
        self.epochs.lock().unwrap().push(n);
    }
}

/// The records of each epoch, when `source` reports a backlog while more than
/// `backlog_above` records are left; checks the views against a batch replay.
fn epoch_sizes(records: &[SourceRecord], backlog_above: usize) -> Vec<usize> {
    let epochs = Arc::new(Mutex::new(Vec::new()));
    let source = Backlogged {
        records: records.to_vec(),
        backlog_above,
        epochs: Arc::clone(&epochs),
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(ViewStore::new());
    run(Box::new(source), &store, dir.path()).unwrap();
    let (expected, _) = replayed(records);
    assert_same_views(&store.snapshot(), &expected, "serving store");
    let sizes = epochs.lock().unwrap().clone();
    assert_eq!(sizes.iter().sum::<usize>(), records.len());
    sizes
}

#[test]
fn epochs_grow_while_the_source_is_behind_and_not_otherwise() {
    let records = stream(6_000, 250);
    let limit = live_config().epoch_records;

    // Never behind: no epoch holds more than the record limit.
    let sizes = epoch_sizes(&records, usize::MAX);
    assert!(sizes.iter().all(|&n| n <= limit), "{sizes:?}");

    // Behind until 1,000 records are left: epochs up to four times the limit, and the last
    // ones (no backlog) within it again.
    let sizes = epoch_sizes(&records, 1_000);
    assert!(sizes.iter().any(|&n| n > limit), "{sizes:?}");
    assert!(sizes.iter().all(|&n| n <= 4 * limit), "{sizes:?}");
    let tail: usize = sizes.iter().rev().take_while(|&&n| n <= limit).sum();
    assert!(tail >= 1_000 - 100, "{sizes:?}");
}
