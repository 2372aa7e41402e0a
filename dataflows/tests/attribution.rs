//! `attribute_entries` against its plain statement (`summarise_expiring` with `attribute` as
//! its logic, which holds every fact): after every epoch the accumulated outputs are equal,
//! for random sends and entries of a few notifications, insertions and retractions, random
//! epochs, 1 or 2 workers, with and without expiry.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use differential_dataflow::consolidation::consolidate;
use differential_dataflow::input::Input;
use proptest::prelude::*;
use pulso_dataflows::attribution::{attribute, attribute_entries, Attribution};
use pulso_dataflows::event_id::EventId;
use pulso_dataflows::intern::EntityId;
use pulso_dataflows::retention::Horizon;
use pulso_dataflows::summarise::{summarise_expiring, Expiry};
use pulso_dataflows::Epoch;
use pulso_events::views::TimelineEntry;
use timely::dataflow::operators::vec::input::Input as _;

/// A minute, in microseconds.
const MINUTE: i64 = 60_000_000;

/// One epoch: `(notification, fact, diff)` changes, and the greatest event time it accepted.
type Step = (Vec<(String, Attribution, isize)>, i64);

/// A webhook entry of notification `id` at minute `minute`, made for tenant `own`.
fn entry(id: &str, minute: i64, own: &str, kind: u8) -> TimelineEntry {
    TimelineEntry {
        entity_type: "notification".into(),
        entity_id: id.into(),
        timestamp: minute * MINUTE,
        event_id: format!("w-{id}-{minute}-{kind}").into(),
        topic: "notifications.events".into(),
        event_type: "NOTIFICATION_OPENED".into(),
        summary: format!(r#"{{"kind":{kind},"tenant_id":"{own}"}}"#).into(),
    }
}

/// A fact: a send or an entry of one of three notifications, in one of a few minutes.
fn fact() -> impl Strategy<Value = (String, Attribution)> {
    let id = (0u8..3).prop_map(|n| format!("n{n}"));
    let tenant = prop_oneof![Just(""), Just("acme"), Just("globex")];
    (id, 0i64..6, tenant, any::<bool>(), 0u8..3).prop_map(|(id, minute, tenant, send, kind)| {
        let fact = if send {
            let event_id = EventId::new(&format!("s-{id}-{kind}"));
            Attribution::Send(minute * MINUTE, event_id, tenant.into())
        } else {
            Attribution::Entry(tenant.into(), entry(&id, minute, tenant, kind))
        };
        (id, fact)
    })
}

/// Epochs of changes whose counts stay >= 0 (as every Pulso input keeps them); with
/// `retract` false, insertions only. Each epoch's maximum is the greatest time seen so far.
fn steps(retract: bool) -> impl Strategy<Value = Vec<Step>> {
    let change = (fact(), prop_oneof![3 => Just(1isize), 2 => Just(-1)]);
    prop::collection::vec(prop::collection::vec(change, 0..8), 1..10).prop_map(move |epochs| {
        let mut counts: BTreeMap<(String, Attribution), isize> = BTreeMap::new();
        let mut max = 0;
        epochs
            .into_iter()
            .map(|changes| {
                let changes: Vec<_> = changes
                    .into_iter()
                    .filter(|(fact, diff)| {
                        let count = counts.entry(fact.clone()).or_default();
                        if (!retract && *diff < 0) || *count + diff < 0 {
                            return false;
                        }
                        *count += diff;
                        true
                    })
                    .map(|((id, fact), diff)| (id, fact, diff))
                    .collect();
                max = changes
                    .iter()
                    .map(|(_, fact, _)| fact.time())
                    .fold(max, i64::max);
                (changes, max)
            })
            .collect()
    })
}

/// Runs `attribute_entries` (or, with `reference`, its plain statement) over `steps`; the
/// accumulated output per epoch.
fn run(
    steps: Vec<Step>,
    workers: usize,
    horizon: Horizon,
    reference: bool,
) -> Vec<Vec<(TimelineEntry, isize)>> {
    let out = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&out);
    let epochs = steps.len();
    let steps = Arc::new(steps);
    timely::execute(timely::Config::process(workers), move |worker| {
        let sink = Arc::clone(&sink);
        let (mut input, mut maxima) = worker.dataflow::<Epoch, _, _>(|scope| {
            let (input, facts) = scope.new_collection::<(EntityId, Attribution), isize>();
            let (maxima_input, maxima) = scope.new_input::<(Epoch, i64)>();
            let entries = if reference {
                let timed = facts.map(|(id, fact)| {
                    let at = fact.time();
                    (id, (fact, at))
                });
                let expiry = Expiry::after(maxima, horizon, |_| false);
                summarise_expiring("Reference", timed, expiry, |_, facts, out| {
                    attribute(facts, out)
                })
                .map(|(_, entry)| entry)
            } else {
                attribute_entries("Ours", facts, maxima, horizon)
            };
            entries.inspect(move |change| sink.lock().unwrap().push(change.clone()));
            (input, maxima_input)
        });
        for (epoch, (changes, max)) in steps.iter().enumerate() {
            if worker.index() == 0 {
                for (id, fact, diff) in changes {
                    input.update((EntityId::from(id.as_str()), fact.clone()), *diff);
                }
            }
            // Every worker's operator reads the epoch's maximum (as broadcast maxima are).
            maxima.send((epoch as Epoch, *max));
            input.advance_to(epoch as Epoch + 1);
            maxima.advance_to(epoch as Epoch + 1);
        }
    })
    .unwrap();
    let changes = std::mem::take(&mut *out.lock().unwrap());
    let mut by_epoch: BTreeMap<Epoch, Vec<(TimelineEntry, isize)>> = BTreeMap::new();
    for (entry, time, diff) in changes {
        by_epoch.entry(time).or_default().push((entry, diff));
    }
    let mut accumulated = Vec::new();
    (0..epochs as Epoch)
        .map(|epoch| {
            accumulated.extend(by_epoch.remove(&epoch).unwrap_or_default());
            consolidate(&mut accumulated);
            accumulated.clone()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn without_expiry_it_equals_the_plain_attribution_after_every_epoch(
        steps in steps(true),
        workers in 1usize..3,
    ) {
        let ours = run(steps.clone(), workers, Horizon::OFF, false);
        let reference = run(steps, workers, Horizon::OFF, true);
        prop_assert_eq!(ours, reference);
    }

    #[test]
    fn with_expiry_it_equals_the_plain_attribution_after_every_epoch(
        steps in steps(false),
        workers in 1usize..3,
        minutes in 1i64..4,
    ) {
        let horizon = Horizon::micros(minutes * MINUTE);
        let ours = run(steps.clone(), workers, horizon, false);
        let reference = run(steps, workers, horizon, true);
        prop_assert_eq!(ours, reference);
    }
}

#[test]
fn an_earlier_send_moves_the_entries_to_its_tenant() {
    let webhook = entry("n1", 3, "", 0);
    let steps = vec![
        (
            vec![(
                "n1".into(),
                Attribution::Entry("".into(), webhook.clone()),
                1,
            )],
            3 * MINUTE,
        ),
        (
            vec![(
                "n1".into(),
                Attribution::Send(2 * MINUTE, EventId::new("s2"), "acme".into()),
                1,
            )],
            3 * MINUTE,
        ),
        (
            vec![(
                "n1".into(),
                Attribution::Send(MINUTE, EventId::new("s1"), "globex".into()),
                1,
            )],
            3 * MINUTE,
        ),
    ];
    let output = run(steps, 2, Horizon::OFF, false);
    let summary = |tenant: &str| {
        let rendered = output
            .iter()
            .flatten()
            .find(|(e, _)| e.summary.contains(tenant));
        rendered.map(|(e, _)| e.summary.to_string())
    };
    assert_eq!(output[0], vec![(webhook.clone(), 1)]);
    assert_eq!(output[1].len(), 1);
    assert_eq!(
        summary("acme").as_deref(),
        Some(r#"{"kind":0,"tenant_id":"acme"}"#)
    );
    assert_eq!(output[2].len(), 1);
    assert_eq!(
        output[2][0].0.summary.as_ref(),
        r#"{"kind":0,"tenant_id":"globex"}"#
    );
}
