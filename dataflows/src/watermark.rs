//! The watermark of VIEWS.md ("Retention"): `W(e)`, the greatest event time among the records
//! accepted in epochs before `e`, and the admission rules it drives (`too_late`, and the
//! future-tolerance check against the engine's clock).
//!
//! Every worker computes the greatest accepted event time of each of its epochs; the maxima
//! are broadcast, so every worker (and every process of a cluster) folds the same values into
//! the same `W(e)`. Operators that expire state take the maxima as a second input and read
//! `W(e)` through a [`Watermark`]; the epoch loops read it from the maxima they have seen once
//! the previous epoch is complete, to admit the records of epoch `e`. A too-late record is
//! earlier than `W(e)` itself, so whether it counts in the maxima changes nothing: the
//! maxima are taken over every accepted record, before the too-late check.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use pulso_events::{RejectReason, Rejection};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::{Capability, Inspect, Probe};
use timely::dataflow::ProbeHandle;
use timely::dataflow::StreamVec;

use differential_dataflow::collection::{AsCollection, VecCollection};

use crate::retention::Retention;
use crate::Epoch;

/// Per epoch, the greatest accepted event time of each worker, seen by every worker, as
/// `(epoch, max)` records sent at `epoch`.
pub type Maxima<'s> = StreamVec<'s, Epoch, (Epoch, i64)>;

/// The greatest event time of the records each worker accepted in each epoch (`times`: their
/// event times, [`crate::ingest::Split::times`]), broadcast to every worker (one value per
/// worker and epoch with accepted records).
pub fn epoch_maxima<'s>(times: &VecCollection<'s, Epoch, i64>) -> Maxima<'s> {
    times
        .inner
        .clone()
        .unary_frontier::<CapacityContainerBuilder<Vec<(Epoch, i64)>>, _, _, _>(
            Pipeline,
            "EpochMaxEventTime",
            |_capability, _info| {
                let mut maxima: BTreeMap<Epoch, (Capability<Epoch>, i64)> = BTreeMap::new();
                move |(input, frontier), output| {
                    input.for_each(|capability, data| {
                        for (timestamp, time, diff) in data.drain(..) {
                            if diff > 0 {
                                let entry = maxima
                                    .entry(time)
                                    .or_insert_with(|| (capability.delayed(&time, 0), i64::MIN));
                                entry.1 = entry.1.max(timestamp);
                            }
                        }
                    });
                    while let Some(entry) = maxima.first_entry() {
                        if frontier.less_equal(entry.key()) {
                            break;
                        }
                        let epoch = *entry.key();
                        let (capability, max) = entry.remove();
                        output.session(&capability).give((epoch, max));
                    }
                }
            },
        )
        .broadcast()
}

/// `W` as a collection: the greatest accepted event time so far, one row replaced (its old
/// value retracted) each time it grows. Every worker sees every maximum, so only the first
/// worker emits; state is one value, whatever the number of epochs.
pub fn watermark_rows<'s>(maxima: Maxima<'s>) -> VecCollection<'s, Epoch, i64> {
    let emits = maxima.scope().index() == 0;
    maxima
        .unary_frontier::<CapacityContainerBuilder<Vec<(i64, Epoch, isize)>>, _, _, _>(
            Pipeline,
            "Watermark",
            move |_capability, _info| {
                let mut pending: BTreeMap<Epoch, (Capability<Epoch>, i64)> = BTreeMap::new();
                let mut current: Option<i64> = None;
                move |(input, frontier), output| {
                    input.for_each(|capability, data| {
                        for (epoch, max) in data.drain(..).filter(|_| emits) {
                            let entry = pending
                                .entry(epoch)
                                .or_insert_with(|| (capability.delayed(&epoch, 0), max));
                            entry.1 = entry.1.max(max);
                        }
                    });
                    while let Some(entry) = pending.first_entry() {
                        if frontier.less_equal(entry.key()) {
                            break;
                        }
                        let epoch = *entry.key();
                        let (capability, max) = entry.remove();
                        if current.is_some_and(|w| w >= max) {
                            continue;
                        }
                        let mut session = output.session(&capability);
                        if let Some(old) = current {
                            session.give((old, epoch, -1));
                        }
                        session.give((max, epoch, 1));
                        current = Some(max);
                    }
                }
            },
        )
        .as_collection()
}

/// Folds `maxima` into a [`Watermark`] the epoch loop reads, and makes `probe` wait for
/// them: once `probe` has passed epoch `e - 1`, `at(e)` is `W(e)`.
pub fn observe<'s>(maxima: Maxima<'s>, probe: &ProbeHandle<Epoch>) -> Rc<RefCell<Watermark>> {
    let seen = Rc::new(RefCell::new(Watermark::default()));
    let into = Rc::clone(&seen);
    maxima
        .inspect(move |(epoch, max)| into.borrow_mut().receive(*epoch, *max))
        .probe_with(probe);
    seen
}

/// Folds epoch maxima into `W(e)`. Epochs must be asked for in non-decreasing order.
#[derive(Debug, Default)]
pub struct Watermark {
    /// Maxima of epochs not folded in yet.
    pending: BTreeMap<Epoch, i64>,
    /// The greatest of the maxima folded in.
    current: Option<i64>,
}

impl Watermark {
    /// Notes that `max` was accepted in `epoch`.
    pub fn receive(&mut self, epoch: Epoch, max: i64) {
        let entry = self.pending.entry(epoch).or_insert(max);
        *entry = (*entry).max(max);
    }

    /// Notes every `(epoch, max)` of `maxima` (a batch of the maxima stream), emptying it.
    pub fn receive_all(&mut self, maxima: &mut Vec<(Epoch, i64)>) {
        for (epoch, max) in maxima.drain(..) {
            self.receive(epoch, max);
        }
    }

    /// `W(epoch)`: the greatest event time accepted before `epoch` (`None` before any).
    pub fn at(&mut self, epoch: Epoch) -> Option<i64> {
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() >= epoch {
                break;
            }
            self.current = self.current.max(Some(entry.remove()));
        }
        self.current
    }
}

/// What decides whether an accepted record is admitted in the current epoch.
#[derive(Clone, Copy, Debug)]
pub struct Admission {
    /// `W(e)` of the epoch being read.
    pub watermark: Option<i64>,
    /// The horizons.
    pub retention: Retention,
    /// The engine clock's reading (UTC microseconds) when the records are read.
    pub now: i64,
}

impl Admission {
    /// Why a record of event time `timestamp` is refused, or `None` when it is admitted:
    /// more than `future_tolerance` ahead of the clock (`invalid_field`), or earlier than
    /// `W(e) - late_after` (`too_late`).
    pub fn refuse(&self, timestamp: i64) -> Option<Rejection> {
        if let Some(tolerance) = self.retention.future_tolerance.as_micros() {
            if timestamp > self.now.saturating_add(tolerance) {
                return Some(Rejection::new(
                    RejectReason::InvalidField,
                    format!(
                        "field `timestamp` is in the future: more than {} ahead of the clock",
                        self.retention.future_tolerance
                    ),
                ));
            }
        }
        let cutoff = self.retention.late_after.cutoff(self.watermark)?;
        (timestamp < cutoff).then(|| {
            Rejection::new(
                RejectReason::TooLate,
                format!(
                    "field `timestamp` is more than {} before the watermark {}",
                    self.retention.late_after,
                    pulso_events::time::format_rfc3339(self.watermark.unwrap_or_default()),
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retention::Horizon;

    #[test]
    fn watermark_folds_only_earlier_epochs() {
        let mut w = Watermark::default();
        w.receive(0, 10);
        w.receive(0, 30);
        w.receive(2, 50);
        assert_eq!(w.at(0), None);
        assert_eq!(w.at(1), Some(30));
        assert_eq!(w.at(2), Some(30));
        assert_eq!(w.at(3), Some(50));
    }

    #[test]
    fn admission_refuses_late_and_future_records() {
        let retention = Retention {
            late_after: Horizon::micros(100),
            future_tolerance: Horizon::micros(1_000),
            ..Retention::OFF
        };
        let admit = Admission {
            watermark: Some(500),
            retention,
            now: 10_000,
        };
        assert_eq!(admit.refuse(400), None);
        assert_eq!(admit.refuse(399).unwrap().reason, RejectReason::TooLate);
        assert_eq!(admit.refuse(11_000), None);
        assert_eq!(
            admit.refuse(11_001).unwrap().reason,
            RejectReason::InvalidField
        );
        let first_epoch = Admission {
            watermark: None,
            ..admit
        };
        assert_eq!(first_epoch.refuse(0), None);
    }
}
