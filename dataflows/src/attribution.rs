//! The attribution of provider webhook and `notifications.dlq` timeline entries to the tenant
//! of their notification's earliest send (VIEWS.md, `timelines`): such records carry no
//! tenant of their own, so their entries take the send's, and change it when an earlier send
//! arrives.
//!
//! [`attribute_entries`] keeps, per notification, its sends (`(timestamp, event_id, tenant)`
//! with their counts: the least is the earliest) and, per entry attributed to it, only a
//! compact handle: the entry's 128-bit hash, its own tenant, its time and count, and where
//! the entry itself lies in a per-worker log on disk ([`WinnerLog`], the deduplication
//! operator's kind of log). An entry arriving or retracted is emitted from the change itself;
//! the log is read back only when the notification's tenant changes (its first or an earlier
//! send arrives after the entries), or to confirm that a retracted entry is the logged one.
//! A notification's sends and handles are packed into one byte string (module `pack`: ~27
//! bytes per send, ~33 per handle), unpacked when the notification changes; this holds ~33
//! bytes per entry instead of the entry (~450 bytes with its summary text).
//!
//! Output equals `summarise_expiring` with [`attribute`] as its logic: a notification leaves
//! the state when its latest fact is earlier than `W(e) - horizon`, without retracting what it
//! emitted, and a later fact starts it afresh.

use std::sync::Arc;

use crate::consolidation::consolidate;
use differential_dataflow::collection::{AsCollection, VecCollection};
use differential_dataflow::hashable::Hashable;
use pulso_events::views::TimelineEntry;
use pulso_events::with_tenant;
use serde::{Deserialize, Serialize};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::Operator;

use crate::event_id::EventId;
use crate::expiry_queue::{Bucket, ExpiryQueue};
use crate::intern::{EntityId, Name};
use crate::pack::{NameTable, Pack, Packer, Unpacker};
use crate::pending::{by_slot, grouped_by_key, Pending};
use crate::retention::Horizon;
use crate::slots::{Slot, Slots};
use crate::summarise::merge_into;
use crate::watermark::{Maxima, Watermark};
use crate::winner_log::{Slot as LogSlot, WinnerLog};
use crate::Epoch;

/// A fact of a notification's attribution.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Attribution {
    /// A send: `(timestamp, event_id, tenant_id)`.
    Send(i64, EventId, Name),
    /// An entry of a webhook or DLQ record, made for its own tenant (named here).
    Entry(Name, TimelineEntry),
}

impl Attribution {
    /// The event time of the fact.
    pub fn time(&self) -> i64 {
        match self {
            Attribution::Send(timestamp, ..) => *timestamp,
            Attribution::Entry(_, entry) => entry.timestamp,
        }
    }
}

impl Pack for Attribution {
    fn pack(&self, out: &mut Packer<'_>) {
        match self {
            Attribution::Send(at, id, tenant) => {
                out.byte(0);
                at.pack(out);
                id.pack(out);
                tenant.pack(out);
            }
            Attribution::Entry(own, entry) => {
                out.byte(1);
                own.pack(out);
                out.plain(entry);
            }
        }
    }

    fn unpack(input: &mut Unpacker<'_>) -> Self {
        match input.byte() {
            0 => {
                let (at, id, tenant) = Pack::unpack(input);
                Attribution::Send(at, id, tenant)
            }
            _ => {
                let own = Pack::unpack(input);
                Attribution::Entry(own, input.plain())
            }
        }
    }
}

/// `entry` as it belongs to `tenant` (the earliest send's, when known), made for `own`.
fn render(entry: &TimelineEntry, own: &Name, tenant: Option<&Name>) -> TimelineEntry {
    match tenant {
        Some(tenant) if tenant != own => TimelineEntry {
            summary: with_tenant(&entry.summary, own, tenant)
                .map_or_else(|| Arc::clone(&entry.summary), Arc::from),
            ..entry.clone()
        },
        _ => entry.clone(),
    }
}

/// The entries attributed to one notification, each for the tenant of its earliest send (its
/// own until a send is known), from all its facts: the plain statement of what
/// [`attribute_entries`] maintains.
pub fn attribute(facts: &[(&Attribution, isize)], output: &mut Vec<(TimelineEntry, isize)>) {
    let send_tenant = match facts[0].0 {
        Attribution::Send(_, _, tenant) => Some(tenant),
        Attribution::Entry(..) => None,
    };
    for (fact, n) in facts {
        if let Attribution::Entry(own, entry) = fact {
            output.push((render(entry, own, send_tenant), *n));
        }
    }
}

/// An attributed entry as the state holds it.
#[derive(Debug)]
struct Logged {
    hash: u128,
    own: Name,
    timestamp: i64,
    slot: LogSlot,
    count: isize,
}

/// One notification's state, unpacked.
#[derive(Debug, Default)]
struct Notification {
    /// Its sends, ascending, with their (non-zero) counts.
    sends: Vec<((i64, EventId, Name), isize)>,
    entries: Vec<Logged>,
}

/// One notification's state as the table holds it: packed (module `pack`), and the minute
/// bucket it is queued in for expiry.
#[derive(Debug, Default)]
struct Held {
    packed: Box<[u8]>,
    queued: Option<Bucket>,
}

impl Notification {
    /// The tenant of the earliest send.
    fn tenant(&self) -> Option<Name> {
        self.sends
            .first()
            .map(|((_, _, tenant), _)| Arc::clone(tenant))
    }

    /// The time of its latest fact.
    fn latest(&self) -> Option<i64> {
        let sends = self.sends.iter().map(|((t, _, _), _)| *t);
        sends.chain(self.entries.iter().map(|e| e.timestamp)).max()
    }

    fn is_empty(&self) -> bool {
        self.sends.is_empty() && self.entries.is_empty()
    }

    /// The notification packed into `names`' indices.
    fn pack(&self, names: &mut NameTable) -> Box<[u8]> {
        let mut bytes = Vec::new();
        let mut out = Packer::new(&mut bytes, names);
        out.varint(self.sends.len() as u64);
        for (send, count) in &self.sends {
            count.pack(&mut out);
            send.pack(&mut out);
        }
        for logged in &self.entries {
            logged.hash.pack(&mut out);
            logged.own.pack(&mut out);
            logged.timestamp.pack(&mut out);
            logged.slot.pack(&mut out);
            logged.count.pack(&mut out);
        }
        bytes.into_boxed_slice()
    }

    /// The notification `packed` holds (empty for a new one).
    fn unpack(packed: &[u8], names: &NameTable) -> Notification {
        let mut input = Unpacker::new(packed, names);
        let mut held = Notification::default();
        if input.is_empty() {
            return held;
        }
        let sends = input.varint() as usize;
        held.sends = (0..sends)
            .map(|_| {
                let count = Pack::unpack(&mut input);
                (Pack::unpack(&mut input), count)
            })
            .collect();
        while !input.is_empty() {
            let (hash, own, timestamp) = Pack::unpack(&mut input);
            let (slot, count) = Pack::unpack(&mut input);
            held.entries.push(Logged {
                hash,
                own,
                timestamp,
                slot,
                count,
            });
        }
        held
    }
}

/// The log is rewritten with the live entries only once it holds more than twice as many
/// records as there are live entries, and at least this many more.
const COMPACT_SLACK: u64 = 1 << 20;

/// One worker's notifications, their entries' log and their expiry queue.
struct Table {
    state: Slots<EntityId, Held>,
    names: NameTable,
    queue: ExpiryQueue,
    log: WinnerLog,
    /// Entries held (each has one live record in the log).
    live: u64,
    /// Whether notifications expire (are queued by their latest minute).
    expires: bool,
}

impl Table {
    fn new(log: WinnerLog, expires: bool) -> Self {
        Table {
            state: Slots::default(),
            names: NameTable::default(),
            queue: ExpiryQueue::default(),
            log,
            live: 0,
            expires,
        }
    }

    /// The entry logged at `slot`.
    fn read(&self, slot: LogSlot) -> TimelineEntry {
        let (_, bytes) = self.log.read(slot);
        bincode::deserialize(&bytes).expect("an attributed entry reads back as it was logged")
    }

    /// Applies one notification's changes (consolidated, ascending) and pushes the changes of
    /// its entries to `out`; a notification whose latest fact is earlier than `cutoff` starts
    /// afresh.
    fn apply(
        &mut self,
        slot: Slot,
        changes: Vec<(Attribution, isize)>,
        cutoff: Option<i64>,
        out: &mut Vec<(TimelineEntry, isize)>,
    ) {
        let (_, packed) = self.state.get_mut(slot).expect("occupied");
        let mut held = Notification::unpack(&packed.packed, &self.names);
        let expired = match (cutoff, held.latest()) {
            (Some(cutoff), Some(latest)) => latest < cutoff,
            _ => false,
        };
        if expired {
            // Gone before this epoch: what it emitted stays as it was.
            self.live -= held.entries.len() as u64;
            held = Notification::default();
        }
        let before = held.tenant();
        let mut sends = Vec::new();
        let mut entries = Vec::new();
        for (fact, diff) in changes {
            match fact {
                Attribution::Send(t, id, tenant) => sends.push(((t, id, tenant), diff)),
                Attribution::Entry(own, entry) => entries.push((own, entry, diff)),
            }
        }
        merge_into(&mut held.sends, sends, &mut Vec::new());
        let after = held.tenant();
        if before != after {
            for logged in &held.entries {
                let entry = self.read(logged.slot);
                out.push((render(&entry, &logged.own, before.as_ref()), -logged.count));
                out.push((render(&entry, &logged.own, after.as_ref()), logged.count));
            }
        }
        for (own, entry, diff) in entries {
            out.push((render(&entry, &own, after.as_ref()), diff));
            self.count(&mut held, own, entry, diff);
        }
        consolidate(out);
        let latest = held.latest();
        if held.is_empty() {
            self.state.remove(slot);
            return;
        }
        let packed = held.pack(&mut self.names);
        let (_, slot_state) = self.state.get_mut(slot).expect("occupied");
        slot_state.packed = packed;
        if let Some(latest) = latest.filter(|_| self.expires) {
            let bucket = ExpiryQueue::bucket_of(latest);
            if slot_state.queued != Some(bucket) {
                slot_state.queued = Some(bucket);
                self.queue.push(bucket, slot);
            }
        }
    }

    /// Frees `slot` if it holds nothing (a key inserted whose changes all cancelled).
    fn remove_if_empty(&mut self, slot: Slot) {
        if matches!(self.state.get_mut(slot), Some((_, held)) if held.packed.is_empty()) {
            self.state.remove(slot);
        }
    }

    /// Adds `diff` to the count of `entry` (made for `own`) in `held`, logging it when new.
    fn count(&mut self, held: &mut Notification, own: Name, entry: TimelineEntry, diff: isize) {
        let hash = crate::timelines::entry_hash(&entry);
        let found = held.entries.iter().position(|logged| {
            logged.hash == hash && logged.own == own && self.read(logged.slot) == entry
        });
        match found {
            Some(at) => {
                held.entries[at].count += diff;
                if held.entries[at].count == 0 {
                    held.entries.swap_remove(at);
                    self.live -= 1;
                }
            }
            None => {
                let bytes = bincode::serialize(&entry).expect("an entry encodes");
                held.entries.push(Logged {
                    hash,
                    own,
                    timestamp: entry.timestamp,
                    slot: self.log.append(&[], &bytes),
                    count: diff,
                });
                self.live += 1;
            }
        }
    }

    /// Removes the queued notifications whose latest fact is in a minute wholly before
    /// `cutoff` (a queued slot may since have been freed or taken by another key: only a key
    /// queued in this very bucket is looked at, and decided by its own facts).
    fn expire(&mut self, cutoff: i64) {
        while let Some((bucket, slots)) = self.queue.pop_before(cutoff) {
            for slot in slots {
                let Some((_, held)) = self.state.get_mut(slot) else {
                    continue;
                };
                if held.queued != Some(bucket) {
                    continue;
                }
                let notification = Notification::unpack(&held.packed, &self.names);
                if notification.latest().is_some_and(|latest| latest < cutoff) {
                    self.live -= notification.entries.len() as u64;
                    self.state.remove(slot);
                } else {
                    held.queued = None;
                }
            }
        }
        if self.log.records() > 2 * self.live + COMPACT_SLACK {
            self.compact();
        }
    }

    /// Rewrites the log with the live entries' records only.
    fn compact(&mut self) {
        let old = std::mem::replace(&mut self.log, WinnerLog::in_memory());
        let mut log = old.empty_like();
        for held in self.state.values_mut() {
            let mut notification = Notification::unpack(&held.packed, &self.names);
            for logged in &mut notification.entries {
                let (key, bytes) = old.read(logged.slot);
                logged.slot = log.append(&key, &bytes);
            }
            held.packed = notification.pack(&mut self.names);
        }
        self.log = log;
    }
}

/// The attributed entries of the notifications' facts (keyed by notification id): each entry
/// for the tenant of its notification's earliest send, its own until a send is known. A
/// notification leaves the state when its latest fact is earlier than `W(e) - horizon`.
pub fn attribute_entries<'s>(
    name: &str,
    facts: VecCollection<'s, Epoch, (EntityId, Attribution)>,
    maxima: Maxima<'s>,
    horizon: Horizon,
) -> VecCollection<'s, Epoch, TimelineEntry> {
    let by_key =
        Exchange::new(|((key, _), _, _): &((EntityId, Attribution), Epoch, isize)| key.hashed());
    facts
        .inner
        .binary_frontier::<_, CapacityContainerBuilder<Vec<(TimelineEntry, Epoch, isize)>>, _, _, _, _>(
            maxima,
            by_key,
            Pipeline,
            name,
            |_capability, _info| {
                let mut table = Table::new(WinnerLog::default(), horizon != Horizon::OFF);
                let mut watermark = Watermark::default();
                let mut pending = Pending::<(EntityId, Attribution)>::default();
                let mut out = Vec::new();
                let mut fresh = Vec::new();
                move |(input, frontier), (maxima, maxima_frontier), output| {
                    maxima.for_each(|_, data| watermark.receive_all(data));
                    input.for_each(|capability, data| pending.hold(&capability, data));
                    while let Some((time, capability, updates)) =
                        pending.next_complete(frontier, maxima_frontier)
                    {
                        let cutoff = horizon.cutoff(watermark.at(time));
                        if let Some(cutoff) = cutoff {
                            table.expire(cutoff);
                        }
                        let slotted =
                            by_slot(updates, &mut table.state, Held::default, &mut fresh);
                        let mut session = output.session(&capability);
                        for (slot, changes) in grouped_by_key(slotted) {
                            table.apply(slot, changes, cutoff, &mut out);
                            for (entry, n) in out.drain(..) {
                                session.give((entry, time, n));
                            }
                        }
                        // A new notification whose changes all cancelled holds nothing.
                        for slot in fresh.drain(..) {
                            table.remove_if_empty(slot);
                        }
                    }
                }
            },
        )
        .as_collection()
}
