//! Partition watermarks looked up on a thread of their own. A look-up is a broker round trip
//! per partition (ListOffsets); a worker that made them itself stopped reading and stepping
//! its views for as long (every second, one round trip per owned partition, each slower on a
//! loaded machine). The source asks for a refresh and takes the answer once it is in.

use std::collections::BTreeMap;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};

use super::source::PartitionKey;

/// Timeout of each watermark look-up.
const WATERMARK_TIMEOUT: Duration = Duration::from_millis(500);

/// Time after which one refresh stops asking (broker unreachable...).
const WATERMARK_BUDGET: Duration = Duration::from_secs(2);

/// `(low, high)` watermarks per partition.
pub(crate) type Watermarks = BTreeMap<PartitionKey, (i64, i64)>;

/// Looks watermarks up on its thread, one refresh at a time. The thread ends with the watcher.
#[derive(Debug)]
pub(crate) struct WatermarkWatcher {
    requests: SyncSender<Vec<PartitionKey>>,
    answer: Arc<Mutex<Option<Watermarks>>>,
}

impl WatermarkWatcher {
    /// Starts the thread `name`, which looks watermarks up through `lookup`.
    pub(crate) fn spawn(lookup: BaseConsumer, name: String) -> std::io::Result<Self> {
        // One request waits while another is served; more are dropped (see `request`).
        let (requests, asked) = sync_channel::<Vec<PartitionKey>>(1);
        let answer = Arc::new(Mutex::new(None));
        let answered = Arc::clone(&answer);
        thread::Builder::new().name(name).spawn(move || {
            for partitions in asked {
                let marks = look_up(&lookup, &partitions);
                *answered.lock().unwrap_or_else(PoisonError::into_inner) = Some(marks);
            }
        })?;
        Ok(WatermarkWatcher { requests, answer })
    }

    /// Asks for the watermarks of `partitions`; does nothing while a request already waits.
    pub(crate) fn request(&self, partitions: Vec<PartitionKey>) {
        let _ = self.requests.try_send(partitions);
    }

    /// The last answer, once: `None` until a new one is in.
    pub(crate) fn take(&self) -> Option<Watermarks> {
        self.answer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// The watermarks of `partitions` the broker gives within [`WATERMARK_BUDGET`] (a partition
/// whose look-up fails is left out).
pub(crate) fn look_up(lookup: &BaseConsumer, partitions: &[PartitionKey]) -> Watermarks {
    let mut marks = BTreeMap::new();
    let deadline = Instant::now() + WATERMARK_BUDGET;
    for key in partitions {
        if Instant::now() >= deadline {
            break;
        }
        if let Ok(found) = lookup.fetch_watermarks(&key.0, key.1, WATERMARK_TIMEOUT) {
            marks.insert(key.clone(), found);
        }
    }
    marks
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::ClientConfig;

    #[test]
    fn an_unreachable_broker_gets_an_empty_answer_given_once() {
        // Nothing listens on port 1: each look-up fails after its timeout.
        let lookup: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:1")
            .create()
            .unwrap();
        let watcher = WatermarkWatcher::spawn(lookup, "marks-test".into()).unwrap();
        assert_eq!(watcher.take(), None, "nothing asked yet");
        let asked = Instant::now();
        watcher.request(vec![("orders.events".to_string(), 0)]);
        // The caller does not wait for the broker.
        assert!(asked.elapsed() < WATERMARK_TIMEOUT);
        let answer = loop {
            if let Some(answer) = watcher.take() {
                break answer;
            }
            assert!(asked.elapsed() < Duration::from_secs(10), "no answer");
            thread::sleep(Duration::from_millis(20));
        };
        assert!(answer.is_empty(), "{answer:?}");
        assert_eq!(watcher.take(), None, "an answer is given once");
    }
}
