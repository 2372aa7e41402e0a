//! Retention in the oracle (VIEWS.md, "Retention"), epoch by epoch and written plainly.
//!
//! For each epoch `e` in turn: `W(e)` is the greatest event time accepted before `e`; a record
//! more than `future_tolerance` ahead of `now` is rejected `invalid_field`, one earlier than
//! `W(e) - late_after` is rejected `too_late`. Deduplication keeps a winner per key, but a
//! winner earlier than `W(e) - late_after` has expired: a later candidate of its key is a new
//! event, and both count. An entity (notification, order, reservation, case, the attribution
//! of a notification's webhooks) touched in epoch `e` whose current events are all earlier
//! than `W(e) - entities` (and that is not an open case) starts a new *generation*: its
//! later events form a new entity of the same id. The views are then computed by the plain
//! functions of this crate over the counted events, with the ids of later generations made
//! distinct, so that each generation is summarised on its own.

use std::collections::HashMap;

use pulso_events::retention::WindowHorizons;

use pulso_events::{
    Body, CasoEvent, Decoded, Event, InventoryEvent, NotificationEvent, OrderEvent, RejectReason,
    Rejection, SourceRecord, Topic,
};

/// The horizons the oracle applies, in microseconds (`None`: off).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Horizons {
    /// `retention.late_after`.
    pub late_after: Option<i64>,
    /// `retention.entities`.
    pub entities: Option<i64>,
    /// `retention.future_tolerance`.
    pub future_tolerance: Option<i64>,
    /// The clock's reading for the future-tolerance check.
    pub now: i64,
    /// `retention.windows`: a windowed row whose window ends at or before `W(e) - horizon`
    /// leaves the engine at epoch `e` as it was after epoch `e - 1`; later changes to it are
    /// not applied.
    pub windows: WindowHorizons,
}

/// The id spaces in which entities expire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Space {
    Notification,
    Order,
    Reservation,
    Case,
    Attribution,
}

/// The entities an event belongs to, by space.
fn memberships(e: &Event) -> Vec<(Space, String)> {
    let mut out = Vec::new();
    match &e.body {
        Body::Notification(NotificationEvent::Sent(send)) => {
            out.push((Space::Notification, send.notification_id.clone()));
            out.push((Space::Attribution, send.notification_id.clone()));
        }
        Body::Caso(CasoEvent::NotificacionEnviada { send, .. }) => {
            out.push((Space::Notification, send.notification_id.clone()));
            out.push((Space::Attribution, send.notification_id.clone()));
        }
        Body::Notification(NotificationEvent::Webhook {
            notification_id, ..
        }) => {
            out.push((Space::Notification, notification_id.clone()));
            out.push((Space::Attribution, notification_id.clone()));
        }
        Body::NotificationDlq(d) => {
            if let Some(id) = &d.notification_id {
                out.push((Space::Attribution, id.clone()));
            }
        }
        Body::Order(o) => out.push((Space::Order, o.order_id().to_string())),
        Body::Inventory(
            InventoryEvent::Reserved { order_id, .. } | InventoryEvent::Released { order_id },
        ) => out.push((Space::Reservation, order_id.clone())),
        Body::Caso(
            c @ (CasoEvent::Creado { .. }
            | CasoEvent::Asignado { .. }
            | CasoEvent::Actualizado { .. }
            | CasoEvent::Cerrado { .. }
            | CasoEvent::SlaViolado { .. }
            | CasoEvent::SlaCumplido { .. }),
        ) => {
            if let Some(id) = c.caso_id() {
                out.push((Space::Case, id.to_string()));
            }
        }
        _ => {}
    }
    out
}

/// One entity's current generation: its number and its counted events (by index).
#[derive(Default)]
struct Generation {
    number: u32,
    members: Vec<usize>,
}

/// An event that was a winner: the epoch it won in, the epoch it was replaced in (if it was),
/// and its generation in each space.
type Winner = (Event, usize, Option<usize>, Vec<(Space, u32)>);

/// What the epochs produced: every record with what became of it, the counted events, and
/// each counted event's generation per space.
pub(crate) struct Retained {
    /// Every record, with its decoding or rejection (too-late and future ones included).
    pub decoded: Vec<(SourceRecord, Decoded)>,
    /// The counted events at the end: current winners and expired winners.
    pub counted: Vec<Event>,
    /// Per counted event, its generation in each space it belongs to.
    generations: Vec<Vec<(Space, u32)>>,
    /// Every event that was ever a winner, with the epoch it won in and the one it was
    /// replaced in (if it was), and its generations: the counted events of any epoch.
    history: Vec<Winner>,
    /// `W(e)` of each epoch.
    pub watermarks: Vec<Option<i64>>,
}

impl Retained {
    /// The generation of counted event `i` as its notification's webhooks are attributed.
    pub(crate) fn attribution_generation(&self, i: usize) -> u32 {
        self.generation(i, Space::Attribution)
    }

    fn generation(&self, i: usize, space: Space) -> u32 {
        self.generations[i]
            .iter()
            .find(|(s, _)| *s == space)
            .map_or(0, |(_, g)| *g)
    }

    /// The events counted at the end of epoch `epoch`, their ids made distinct per generation
    /// as [`Retained::for_views`] does.
    pub(crate) fn counted_after(&self, epoch: usize) -> Vec<Event> {
        let mut events = Vec::new();
        for (event, added, removed, generations) in &self.history {
            if *added <= epoch && removed.is_none_or(|r| r > epoch) {
                let mut event = event.clone();
                for (space, g) in generations {
                    if *g > 0 && *space != Space::Attribution {
                        rename(&mut event, *space, *g);
                    }
                }
                events.push(event);
            }
        }
        events
    }

    /// The counted events with the ids of later generations made distinct, for the views, and
    /// the original id of each case id so made (`open_cases` lists cases by id).
    pub(crate) fn for_views(&self) -> (Vec<Event>, HashMap<i64, i64>) {
        let mut events = self.counted.clone();
        let mut case_ids = HashMap::new();
        for (i, event) in events.iter_mut().enumerate() {
            for space in [
                Space::Notification,
                Space::Order,
                Space::Reservation,
                Space::Case,
            ] {
                let g = self.generation(i, space);
                if g > 0 {
                    let original = caso_id(event);
                    rename(event, space, g);
                    if let (Some(original), Some(renamed)) = (original, caso_id(event)) {
                        if renamed != original {
                            case_ids.insert(renamed, original);
                        }
                    }
                }
            }
        }
        (events, case_ids)
    }
}

/// The case an event is about, if any.
fn caso_id(event: &Event) -> Option<i64> {
    match &event.body {
        Body::Caso(c) => c.caso_id(),
        _ => None,
    }
}

/// Gives `event`'s entity in `space` a distinct id for generation `g`.
fn rename(event: &mut Event, space: Space, g: u32) {
    let suffix = |id: &mut String| id.push_str(&format!("\u{1}gen{g}"));
    match (&mut event.body, space) {
        (Body::Notification(NotificationEvent::Sent(send)), Space::Notification)
        | (Body::Caso(CasoEvent::NotificacionEnviada { send, .. }), Space::Notification) => {
            suffix(&mut send.notification_id)
        }
        (
            Body::Notification(NotificationEvent::Webhook {
                notification_id, ..
            }),
            Space::Notification,
        ) => suffix(notification_id),
        (
            Body::Order(
                OrderEvent::Created { order_id, .. }
                | OrderEvent::Confirmed { order_id }
                | OrderEvent::Cancelled { order_id, .. },
            ),
            Space::Order,
        ) => suffix(order_id),
        (
            Body::Inventory(
                InventoryEvent::Reserved { order_id, .. } | InventoryEvent::Released { order_id },
            ),
            Space::Reservation,
        ) => suffix(order_id),
        (
            Body::Caso(
                CasoEvent::Creado { caso_id, .. }
                | CasoEvent::Asignado { caso_id, .. }
                | CasoEvent::Actualizado { caso_id, .. }
                | CasoEvent::Cerrado { caso_id, .. }
                | CasoEvent::SlaViolado { caso_id, .. }
                | CasoEvent::SlaCumplido { caso_id, .. },
            ),
            Space::Case,
        ) => *caso_id = caso_id.wrapping_add(i64::from(g) << 52),
        _ => {}
    }
}

/// Whether the case made of `events` exists and is not `CERRADO` (it never expires).
fn is_open_case(events: &[Event]) -> bool {
    crate::cases::Cases::build(events)
        .case_backlog()
        .iter()
        .any(|row| row.estado != "CERRADO" && row.cases > 0)
}

/// Runs the epochs: admission, deduplication with expiry, entity generations.
pub(crate) fn run_epochs(batches: &[Vec<SourceRecord>], horizons: &Horizons) -> Retained {
    let mut decoded = Vec::new();
    let mut counted: Vec<Event> = Vec::new();
    let mut live: Vec<bool> = Vec::new();
    let mut winners: HashMap<(Topic, String), (i64, Vec<u8>, usize)> = HashMap::new();
    let mut entities: HashMap<(Space, String), Generation> = HashMap::new();
    let mut generations: Vec<Vec<(Space, u32)>> = Vec::new();
    let mut watermark: Option<i64> = None;
    let mut watermarks = Vec::new();
    let mut added_at: Vec<usize> = Vec::new();
    let mut removed_at: Vec<Option<usize>> = Vec::new();
    for (epoch, batch) in batches.iter().enumerate() {
        watermarks.push(watermark);
        let cutoff = |horizon: Option<i64>| Some(watermark? - horizon?);
        let (late_cutoff, entity_cutoff) = (cutoff(horizons.late_after), cutoff(horizons.entities));
        let mut epoch_max: Option<i64> = None;
        // The least candidate of each key in this epoch.
        let mut candidates: HashMap<(Topic, String), (i64, Vec<u8>, Event)> = HashMap::new();
        for record in batch {
            let mut result = record.decode();
            if let Ok(event) = &result {
                let t = event.timestamp;
                let future = horizons
                    .future_tolerance
                    .is_some_and(|tol| t > horizons.now + tol);
                if future {
                    result = Err(Rejection::new(RejectReason::InvalidField, "future"));
                } else if late_cutoff.is_some_and(|c| t < c) {
                    result = Err(Rejection::new(RejectReason::TooLate, "too late"));
                } else {
                    epoch_max = epoch_max.max(Some(t));
                }
            }
            if let Ok(event) = &result {
                let key = (record.topic, event.dedup_key.clone());
                let candidate = (event.timestamp, record.value.clone(), event.clone());
                let best = candidates.entry(key).or_insert_with(|| candidate.clone());
                if (candidate.0, &candidate.1) < (best.0, &best.1) {
                    *best = candidate;
                }
            }
            decoded.push((record.clone(), result));
        }
        // Deduplication: what this epoch adds to and removes from the counted events.
        let mut added: Vec<usize> = Vec::new();
        let mut removed: Vec<usize> = Vec::new();
        let mut keys: Vec<_> = candidates.into_iter().collect();
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, (t, raw, event)) in keys {
            let replace = match winners.get(&key) {
                None => None,
                Some((wt, _, _)) if late_cutoff.is_some_and(|c| *wt < c) => None,
                Some((wt, wraw, index)) => {
                    if (t, &raw) < (*wt, wraw) {
                        Some(Some(*index))
                    } else {
                        Some(None)
                    }
                }
            };
            let retract = match replace {
                Some(None) => continue,
                Some(Some(old)) => Some(old),
                None => None,
            };
            if let Some(old) = retract {
                live[old] = false;
                removed_at[old] = Some(epoch);
                removed.push(old);
            }
            let index = counted.len();
            counted.push(event);
            live.push(true);
            added_at.push(epoch);
            removed_at.push(None);
            generations.push(Vec::new());
            winners.insert(key, (t, raw, index));
            added.push(index);
        }
        // Entity generations: an expired entity touched now starts afresh.
        let mut touched: HashMap<(Space, String), ()> = HashMap::new();
        for &i in removed.iter().chain(added.iter()) {
            for key in memberships(&counted[i]) {
                if touched.insert(key.clone(), ()).is_none() {
                    let generation = entities.entry(key.clone()).or_default();
                    let latest = generation
                        .members
                        .iter()
                        .map(|&m| counted[m].timestamp)
                        .max();
                    let expired = matches!((latest, entity_cutoff), (Some(l), Some(c)) if l < c);
                    let kept = key.0 == Space::Case && {
                        let events: Vec<Event> = generation
                            .members
                            .iter()
                            .map(|&m| counted[m].clone())
                            .collect();
                        is_open_case(&events)
                    };
                    if expired && !kept {
                        generation.number += 1;
                        generation.members.clear();
                    }
                }
            }
        }
        for &i in &removed {
            for key in memberships(&counted[i]) {
                if let Some(generation) = entities.get_mut(&key) {
                    generation.members.retain(|&m| m != i);
                }
            }
        }
        for &i in &added {
            for key in memberships(&counted[i]) {
                let generation = entities.entry(key.clone()).or_default();
                generation.members.push(i);
                generations[i].push((key.0, generation.number));
            }
        }
        watermark = watermark.max(epoch_max);
    }
    let keep: Vec<usize> = (0..counted.len()).filter(|&i| live[i]).collect();
    Retained {
        decoded,
        counted: keep.iter().map(|&i| counted[i].clone()).collect(),
        generations: keep.iter().map(|&i| generations[i].clone()).collect(),
        history: (0..counted.len())
            .map(|i| {
                let g = generations[i].clone();
                (counted[i].clone(), added_at[i], removed_at[i], g)
            })
            .collect(),
        watermarks,
    }
}
