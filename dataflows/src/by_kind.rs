//! The deduplicated events handed to their readers, in one pass.
//!
//! Every reader of a timely stream gets its own copy of each message (a clone of each shared
//! event, counted up and down again, and a pass over memory the events no longer share with
//! the cache); a domain that reads every event only to keep the few kinds it knows pays that
//! for the others too. One operator reads the deduplication's output once and hands each
//! reader what it uses: each event to the one domain that knows its kind, a shared copy to
//! the timelines, the few fields `tenant_activity` and `pipeline_health` count by, and the
//! workers' greatest event times to the default `as_of`. A reader that is not built gets
//! nothing.

use differential_dataflow::collection::{AsCollection, VecCollection};
use pulso_events::{Body, CasoEvent, Topic};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::progress::operate::FrontierInterest;

use crate::dedup::Deduplicated;
use crate::intern::{Interner, Name};
use crate::{Batch, Epoch, SharedEvent};

/// Which readers of every event are built (the domains always get their parts).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Readers {
    /// `timelines`: a shared copy of every event.
    pub(crate) timelines: bool,
    /// `tenant_activity`: every event's tenant, topic and time.
    pub(crate) tenants: bool,
    /// `pipeline_health`: every event's topic.
    pub(crate) topics: bool,
}

/// A `tenant_activity` count's fields of an event: its tenant, topic and time.
pub(crate) type TenantEvent = (Name, Topic, i64);

/// The deduplicated events as their readers take them.
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
    /// Every event ([`Readers::timelines`]).
    pub(crate) every: VecCollection<'s, Epoch, SharedEvent>,
    /// Every event's tenant, topic and time ([`Readers::tenants`]).
    pub(crate) tenants: VecCollection<'s, Epoch, TenantEvent>,
    /// Every event's topic ([`Readers::topics`]).
    pub(crate) topics: VecCollection<'s, Epoch, Topic>,
    /// Each worker's greatest winner event time ([`Deduplicated::GreatestTime`]).
    pub(crate) greatest: VecCollection<'s, Epoch, i64>,
}

/// The domains' parts, in order.
const ORDERS: usize = 0;
const INVENTORY: usize = 1;
const NOTIFICATIONS: usize = 2;
const TRACKING: usize = 3;
const CASES: usize = 4;
const PARTS: usize = 5;

/// The domain part an event goes to.
fn part(body: &Body) -> usize {
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

/// Hands the deduplicated events to their readers (see the module's documentation), in one
/// pass over each batch.
pub(crate) fn by_kind<'s>(
    deduplicated: VecCollection<'s, Epoch, Deduplicated>,
    readers: Readers,
) -> ByKind<'s> {
    let mut builder = OperatorBuilder::new("EventsToReaders".to_owned(), deduplicated.scope());
    let mut input = builder.new_input(deduplicated.inner, Pipeline);
    builder.set_notify_for(0, FrontierInterest::Never);
    let mut part_outputs = Vec::with_capacity(PARTS);
    let mut part_streams = Vec::with_capacity(PARTS);
    for _ in 0..PARTS {
        let (output, stream) = builder.new_output::<Batch<SharedEvent>>();
        part_outputs.push(output);
        part_streams.push(stream.as_collection());
    }
    let (mut every_output, every) = builder.new_output::<Batch<SharedEvent>>();
    let (mut tenant_output, tenants) = builder.new_output::<Batch<TenantEvent>>();
    let (mut topic_output, topics) = builder.new_output::<Batch<Topic>>();
    let (mut greatest_output, greatest) = builder.new_output::<Batch<i64>>();
    builder.build(move |_initial| {
        let mut names = Interner::default();
        let mut parts: Vec<Batch<SharedEvent>> = vec![Vec::new(); PARTS];
        let (mut all, mut tenants, mut topics, mut greatest) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        move |_frontiers| {
            let mut part_handles: Vec<_> = part_outputs.iter_mut().map(|o| o.activate()).collect();
            let mut every_handle = every_output.activate();
            let mut tenant_handle = tenant_output.activate();
            let mut topic_handle = topic_output.activate();
            let mut greatest_handle = greatest_output.activate();
            input.for_each_stamp(|capability, containers| {
                for data in containers {
                    for (deduplicated, time, diff) in data.drain(..) {
                        let event = match deduplicated {
                            Deduplicated::Event(event) => event,
                            Deduplicated::GreatestTime(t) => {
                                greatest.push((t, time, diff));
                                continue;
                            }
                        };
                        if readers.tenants {
                            let tenant = names.name(&event.tenant_id);
                            tenants.push(((tenant, event.topic, event.timestamp), time, diff));
                        }
                        if readers.topics {
                            topics.push((event.topic, time, diff));
                        }
                        if readers.timelines {
                            all.push((SharedEvent::clone(&event), time, diff));
                        }
                        parts[part(&event.body)].push((event, time, diff));
                    }
                }
                for (handle, part) in part_handles.iter_mut().zip(parts.iter_mut()) {
                    handle.give(&capability, part);
                    part.clear();
                }
                every_handle.give(&capability, &mut all);
                tenant_handle.give(&capability, &mut tenants);
                topic_handle.give(&capability, &mut topics);
                greatest_handle.give(&capability, &mut greatest);
                all.clear();
                tenants.clear();
                topics.clear();
                greatest.clear();
            });
        }
    });
    let mut parts = part_streams.into_iter();
    let mut next = || parts.next().expect("one stream per part");
    let (orders, inventory, notifications, tracking, cases) =
        (next(), next(), next(), next(), next());
    ByKind {
        orders,
        inventory,
        notifications,
        tracking,
        cases,
        every: every.as_collection(),
        tenants: tenants.as_collection(),
        topics: topics.as_collection(),
        greatest: greatest.as_collection(),
    }
}
