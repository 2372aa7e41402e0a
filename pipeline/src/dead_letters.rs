//! The dead-letter topic on the durability path. The output consumer queues each rejected
//! record for the DLQ as it arrives and, when an epoch closes with rejections, flushes them;
//! both are retried with back-off through [`Durability`] and become fatal when retries are
//! spent. A flush that only times out (the broker does not answer: the records stay queued)
//! is a broker outage, not a failure: it is waited out, as the sources wait, until the run
//! stops. [`DlqDelivered`] tells the archiving sources how far the DLQ is delivered: an
//! epoch's progress record (and offset commit) waits until the dead letters of that epoch
//! are flushed, so a restart after a DLQ failure reads the lost rejections again rather than
//! skip them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use pulso_connectors::kafka::{DlqProducer, Error as KafkaError};
use pulso_dataflows::Epoch;
use pulso_events::{Rejection, SourceRecord};

use crate::durability::Durability;

/// How long one flush of the dead-letter producer may take before it is retried.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a source waiting for the DLQ checks whether the run failed.
const WAIT_CHECK: Duration = Duration::from_millis(100);

/// Where rejected records go: the Kafka dead-letter producer (a failing one in tests).
pub trait DeadLetterSink: Send {
    /// Queues one rejected record.
    fn send(&self, record: &SourceRecord, rejection: &Rejection) -> Result<(), KafkaError>;
    /// Waits until every queued record is delivered; fails on a timeout
    /// ([`KafkaError::FlushTimedOut`]) or when a record sent since the last successful flush
    /// was not delivered ([`KafkaError::Delivery`]).
    fn flush(&self, timeout: Duration) -> Result<(), KafkaError>;
}

impl DeadLetterSink for DlqProducer {
    fn send(&self, record: &SourceRecord, rejection: &Rejection) -> Result<(), KafkaError> {
        DlqProducer::send(self, record, rejection)
    }

    fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        DlqProducer::flush(self, timeout)
    }
}

/// How far the output consumer has delivered the dead letters: those of every epoch below
/// [`DlqDelivered::next`] are flushed to the DLQ topic. Shared by the consumer (which
/// advances it) and the archiving sources (which wait on it).
#[derive(Clone, Debug, Default)]
pub struct DlqDelivered {
    state: Arc<(Mutex<Epoch>, Condvar)>,
}

impl DlqDelivered {
    /// The first epoch whose dead letters may not be delivered yet.
    #[cfg(test)]
    pub fn next(&self) -> Epoch {
        *self.state.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records that the dead letters of `epoch` and every earlier epoch are delivered.
    pub fn delivered_through(&self, epoch: Epoch) {
        let (next, changed) = &*self.state;
        let mut next = next.lock().unwrap_or_else(PoisonError::into_inner);
        *next = (*next).max(epoch + 1);
        changed.notify_all();
    }

    /// Waits until the dead letters of `epoch` are delivered (true), or the durability path
    /// failed for good (false: the DLQ will not be delivered, nothing may be acknowledged).
    pub fn wait_for(&self, epoch: Epoch, durability: &Durability) -> bool {
        let (next, changed) = &*self.state;
        let mut next = next.lock().unwrap_or_else(PoisonError::into_inner);
        while *next <= epoch {
            if durability.is_fatal() {
                return false;
            }
            next = changed
                .wait_timeout(next, WAIT_CHECK)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }
}

/// The output consumer's side of the dead-letter topic.
pub struct DeadLetters {
    sink: Box<dyn DeadLetterSink>,
    durability: Durability,
    delivered: DlqDelivered,
    /// The records queued since the last successful flush: sent again when a flush reports
    /// undelivered records (the DLQ is at-least-once).
    unflushed: Vec<(SourceRecord, Rejection)>,
    /// Set when the run stops: a flush waiting out a broker outage gives up then.
    stop: Arc<AtomicBool>,
}

impl DeadLetters {
    /// Dead letters to `sink`, retried through `durability`, delivery published to
    /// `delivered`; a broker outage is waited out until `stop` is set.
    pub fn new(
        sink: Box<dyn DeadLetterSink>,
        durability: Durability,
        delivered: DlqDelivered,
        stop: Arc<AtomicBool>,
    ) -> Self {
        DeadLetters {
            sink,
            durability,
            delivered,
            unflushed: Vec::new(),
            stop,
        }
    }

    /// Queues a rejected record (retried while queueing fails).
    pub fn reject(
        &mut self,
        record: &SourceRecord,
        rejection: &Rejection,
    ) -> Result<(), KafkaError> {
        let sink = &self.sink;
        let what = || {
            format!(
                "sending {:?} {:?} to the dead-letter topic",
                record.topic, record.position
            )
        };
        self.durability
            .write(what, || sink.send(record, rejection))?;
        self.unflushed.push((record.clone(), rejection.clone()));
        Ok(())
    }

    /// `epoch` is closed: the rejected records queued so far are flushed (retried; records a
    /// flush reports undelivered are sent again), then the epoch counts as delivered.
    pub fn epoch_closed(&mut self, epoch: Epoch) -> Result<(), KafkaError> {
        self.flush(|| format!("flushing the dead-letter topic (epoch {epoch})"))?;
        self.delivered.delivered_through(epoch);
        Ok(())
    }

    /// Flushes what is left, at the end of the run.
    pub fn finish(&mut self) -> Result<(), KafkaError> {
        self.flush(|| "flushing the dead-letter topic at the end of the run".to_string())
    }

    fn flush(&mut self, what: impl Fn() -> String) -> Result<(), KafkaError> {
        if self.unflushed.is_empty() {
            return Ok(());
        }
        let (sink, unflushed, stop) = (&self.sink, &self.unflushed, &self.stop);
        let mut resend = false;
        self.durability.write(&what, || {
            if resend {
                for (record, rejection) in unflushed {
                    sink.send(record, rejection)?;
                }
                resend = false;
            }
            let waiting = Instant::now();
            loop {
                match sink.flush(FLUSH_TIMEOUT) {
                    // A broker outage: the records are still queued. Waited out, not counted
                    // as a failure (consumer lag is what tells of an outage).
                    Err(error @ KafkaError::FlushTimedOut(_)) if !stop.load(Ordering::Relaxed) => {
                        tracing::warn!(
                            %error,
                            waited_s = waiting.elapsed().as_secs(),
                            "{}: waiting for the broker",
                            what()
                        );
                    }
                    result => {
                        // Undelivered records are gone from the producer: send them again.
                        resend = matches!(result, Err(KafkaError::Delivery { .. }));
                        return result;
                    }
                }
            }
        })?;
        self.unflushed.clear();
        Ok(())
    }
}
