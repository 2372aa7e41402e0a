//! The dead-letter topic on the durability path, with an injected failing producer: a DLQ
//! that cannot be written is retried, then fatal, and the epoch never counts as delivered
//! (so no progress record passes it); records a flush reports undelivered are sent again; a
//! flush that only times out (a broker outage) is waited out until the run stops.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pulso_connectors::kafka::Error as KafkaError;
use pulso_events::{Position, RejectReason, Rejection, SourceRecord, Topic};
use pulso_queries::ViewStore;

use crate::dead_letters::{DeadLetterSink, DeadLetters, DlqDelivered};
use crate::durability::Durability;

/// A dead-letter sink whose sends and flushes fail as told, counting the calls.
#[derive(Clone, Default)]
struct Injected {
    sends: Arc<AtomicUsize>,
    flushes: Arc<AtomicUsize>,
    /// Sends fail from this call on (0-based; `usize::MAX`: never).
    failing_sends_from: usize,
    /// Flushes fail while fewer than this many were made; `usize::MAX`: always.
    failing_flushes: usize,
    /// A failing flush reports undelivered records (else a timeout).
    undelivered: bool,
    /// The run's stop flag, set by the flush of this number (1-based), if any.
    stop_at_flush: Option<usize>,
    stop: Arc<AtomicBool>,
    /// The store the durability path reports to, and whether a flush saw a failure there.
    store: Arc<ViewStore>,
    failure_seen: Arc<AtomicBool>,
}

impl DeadLetterSink for Injected {
    fn send(&self, _record: &SourceRecord, _rejection: &Rejection) -> Result<(), KafkaError> {
        let n = self.sends.fetch_add(1, Ordering::SeqCst);
        if n >= self.failing_sends_from {
            return Err(KafkaError::Config("injected: local queue refused".into()));
        }
        Ok(())
    }

    fn flush(&self, _timeout: Duration) -> Result<(), KafkaError> {
        let n = self.flushes.fetch_add(1, Ordering::SeqCst);
        if self.store.failure().is_some() {
            self.failure_seen.store(true, Ordering::SeqCst);
        }
        if self.stop_at_flush == Some(n + 1) {
            self.stop.store(true, Ordering::SeqCst);
        }
        if n < self.failing_flushes {
            return Err(match self.undelivered {
                true => KafkaError::Delivery {
                    failed: 1,
                    last: "injected: broker unreachable".into(),
                },
                false => KafkaError::FlushTimedOut(Duration::ZERO),
            });
        }
        Ok(())
    }
}

fn rejected(offset: i64) -> (SourceRecord, Rejection) {
    let position = Position {
        partition: 0,
        offset,
    };
    let record = SourceRecord::new(Topic::Orders, position, None, b"{".to_vec());
    (
        record,
        Rejection::new(RejectReason::MalformedJson, "unexpected end"),
    )
}

fn dead_letters(sink: &Injected) -> (DeadLetters, Durability, DlqDelivered) {
    let durability = Durability::new(Arc::clone(&sink.store));
    let delivered = DlqDelivered::default();
    let letters = DeadLetters::new(
        Box::new(sink.clone()),
        durability.clone(),
        delivered.clone(),
        Arc::clone(&sink.stop),
    );
    (letters, durability, delivered)
}

#[test]
fn a_dlq_flush_that_keeps_failing_is_fatal_and_the_epoch_never_delivered() {
    let sink = Injected {
        failing_sends_from: usize::MAX,
        failing_flushes: usize::MAX,
        undelivered: true,
        ..Injected::default()
    };
    let (mut letters, durability, delivered) = dead_letters(&sink);
    // An epoch without rejections is delivered at once, without a flush.
    letters.epoch_closed(0).unwrap();
    assert_eq!(delivered.next(), 1);
    assert_eq!(sink.flushes.load(Ordering::SeqCst), 0);

    let (record, rejection) = rejected(7);
    letters.reject(&record, &rejection).unwrap();
    let error = letters.epoch_closed(1).unwrap_err();
    assert!(format!("{error:#}").contains("not delivered"), "{error:#}");
    assert_eq!(
        sink.flushes.load(Ordering::SeqCst),
        6,
        "retried, then given up"
    );
    assert_eq!(sink.sends.load(Ordering::SeqCst), 6, "sent again each time");
    let (reason, fatal) = durability.failure().expect("reported");
    assert!(fatal, "{reason}");
    assert!(
        reason.contains("flushing the dead-letter topic (epoch 1)"),
        "{reason}"
    );
    // Epoch 1 never counts as delivered: a source waiting for it gives up.
    assert_eq!(delivered.next(), 1);
    assert!(delivered.wait_for(0, &durability));
    assert!(!delivered.wait_for(1, &durability));
}

#[test]
fn a_dlq_send_that_keeps_failing_is_fatal() {
    let sink = Injected {
        failing_sends_from: 0,
        ..Injected::default()
    };
    let (mut letters, durability, delivered) = dead_letters(&sink);
    let (record, rejection) = rejected(3);
    let error = letters.reject(&record, &rejection).unwrap_err();
    assert!(
        format!("{error:#}").contains("local queue refused"),
        "{error:#}"
    );
    let (reason, fatal) = durability.failure().unwrap();
    assert!(
        fatal && reason.contains("to the dead-letter topic"),
        "{reason}"
    );
    assert!(!delivered.wait_for(0, &durability));
}

#[test]
fn records_a_flush_reports_undelivered_are_sent_again() {
    let sink = Injected {
        failing_sends_from: usize::MAX,
        failing_flushes: 1,
        undelivered: true,
        ..Injected::default()
    };
    let (mut letters, durability, delivered) = dead_letters(&sink);
    for offset in [1, 2] {
        let (record, rejection) = rejected(offset);
        letters.reject(&record, &rejection).unwrap();
    }
    letters.epoch_closed(0).unwrap();
    // Two sends, a failed flush, the two sent again, a good flush.
    assert_eq!(sink.sends.load(Ordering::SeqCst), 4);
    assert_eq!(sink.flushes.load(Ordering::SeqCst), 2);
    assert_eq!(durability.failure(), None, "recovered");
    assert_eq!(delivered.next(), 1);
    // Flushed records are not sent again.
    letters.epoch_closed(1).unwrap();
    letters.finish().unwrap();
    assert_eq!(sink.sends.load(Ordering::SeqCst), 4);
}

#[test]
fn a_broker_outage_is_waited_out_without_a_failure_or_sending_again() {
    // More timed-out flushes than the durability path's attempts: an outage has no bound.
    let sink = Injected {
        failing_sends_from: usize::MAX,
        failing_flushes: 12,
        undelivered: false,
        ..Injected::default()
    };
    let (mut letters, durability, delivered) = dead_letters(&sink);
    let (record, rejection) = rejected(1);
    letters.reject(&record, &rejection).unwrap();
    letters.epoch_closed(4).unwrap();
    assert_eq!(sink.sends.load(Ordering::SeqCst), 1);
    assert_eq!(sink.flushes.load(Ordering::SeqCst), 13);
    assert!(
        !sink.failure_seen.load(Ordering::SeqCst),
        "/health stays ok while the broker is away"
    );
    assert_eq!(durability.failure(), None);
    assert_eq!(delivered.next(), 5);
}

#[test]
fn a_run_that_stops_during_a_broker_outage_gives_up_the_epoch() {
    let sink = Injected {
        failing_sends_from: usize::MAX,
        failing_flushes: usize::MAX,
        undelivered: false,
        stop_at_flush: Some(9),
        ..Injected::default()
    };
    let (mut letters, durability, delivered) = dead_letters(&sink);
    for epoch in [0, 1] {
        letters.epoch_closed(epoch).unwrap();
    }
    let (record, rejection) = rejected(1);
    letters.reject(&record, &rejection).unwrap();
    let error = letters.epoch_closed(2).unwrap_err();
    assert!(matches!(error, KafkaError::FlushTimedOut(_)), "{error:#}");
    // Eight flushes waited out, then the stop: the ninth and five retries fail.
    assert_eq!(sink.flushes.load(Ordering::SeqCst), 14);
    assert_eq!(
        sink.sends.load(Ordering::SeqCst),
        1,
        "timed out: still queued"
    );
    assert!(durability.failure().is_some_and(|(_, fatal)| fatal));
    assert_eq!(delivered.next(), 2, "epoch 2 never delivered");
}
