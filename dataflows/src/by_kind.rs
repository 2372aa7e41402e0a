//! The deduplicated events split by the domains that read them.
//!
//! Every reader of a timely stream gets its own copy of each message (a clone of each shared
//! event, counted up and down again); a domain that reads every event only to keep the few
//! kinds it knows pays that for the others too. One partition sends each event on to the one
//! domain that can use it, so the domains' own matches see only their kinds. The readers of
//! every event (timelines, `tenant_activity`, `pipeline_health`) still read the whole stream.

use differential_dataflow::collection::{AsCollection, VecCollection};
use pulso_events::{Body, CasoEvent};
use timely::dataflow::operators::vec::Partition;

use crate::{Epoch, SharedEvent};

/// The deduplicated events of each domain.
pub(crate) struct ByKind<'s> {
    /// `orders.events`.
    pub(crate) orders: VecCollection<'s, Epoch, SharedEvent>,
    /// `inventory.events`.
    pub(crate) inventory: VecCollection<'s, Epoch, SharedEvent>,
    /// `notifications.events`, `notifications.dlq` and `notificaciones.enviadas`.
    pub(crate) notifications: VecCollection<'s, Epoch, SharedEvent>,
    /// `tracking.events`.
    pub(crate) tracking: VecCollection<'s, Epoch, SharedEvent>,
    /// The other envelope B topics (cases, SLAs, citizens, departments).
    pub(crate) cases: VecCollection<'s, Epoch, SharedEvent>,
}

/// The parts of the partition, in order.
const ORDERS: u64 = 0;
const INVENTORY: u64 = 1;
const NOTIFICATIONS: u64 = 2;
const TRACKING: u64 = 3;
const CASES: u64 = 4;
const PARTS: u64 = 5;

/// The part an event goes to.
fn part(body: &Body) -> u64 {
    match body {
        Body::Order(_) => ORDERS,
        Body::Inventory(_) => INVENTORY,
        Body::Notification(_)
        | Body::NotificationDlq(_)
        | Body::Caso(CasoEvent::NotificacionEnviada { .. }) => NOTIFICATIONS,
        Body::Tracking(_) => TRACKING,
        Body::Caso(_) => CASES,
    }
}

/// Splits `events` by [`part`], in one pass.
pub(crate) fn by_kind<'s>(events: &VecCollection<'s, Epoch, SharedEvent>) -> ByKind<'s> {
    let mut parts = events
        .inner
        .clone()
        .partition(PARTS, |(event, time, diff)| {
            (part(&event.body), (event, time, diff))
        })
        .into_iter()
        .map(|part| part.as_collection());
    let mut next = || parts.next().expect("one stream per part");
    let (orders, inventory, notifications, tracking, cases) =
        (next(), next(), next(), next(), next());
    ByKind {
        orders,
        inventory,
        notifications,
        tracking,
        cases,
    }
}
