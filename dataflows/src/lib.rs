//! Pulso's dataflows: every view of VIEWS.md maintained incrementally with timely and
//! differential dataflow. Pure dataflow code: no network, no threads of its own (the drivers
//! that feed the dataflow, the live epoch loop and the replay, are `pulso-pipeline`'s); its
//! one file is the deduplication operator's spill log, an anonymous temporary file
//! ([`winner_log`]). [`engine::routed_views`] is the dataflow both drivers build.
//!
//! Time is a `u64` epoch (not event time); event time is data, so a late event simply updates
//! the windows it belongs to. Each domain module turns the deduplicated events into its views;
//! [`build_views`] wires them into one stream of [`ViewRow`] changes. The deduplicated events
//! are handed to their readers in one pass (module `by_kind`): each domain reads only the
//! events it can use, the timelines a shared copy of every event, and `tenant_activity` and
//! `pipeline_health` only the fields they count by.
//!
//! State layout (core v2): every piece of per-event or per-entity state lives in a dedicated
//! operator that keeps one compact copy of it, never in a differential arrangement of events.
//! - Deduplication ([`dedup`]) keeps, per idempotency key, a 40-byte entry ([`winners`]):
//!   a 128-bit hash of the key, the winner's timestamp, and where its key text, position and
//!   raw bytes lie in a per-worker spill log ([`winner_log`]) that is read back only when a
//!   later candidate of the same key arrives. It also reports each worker's greatest winner
//!   timestamp, the default `as_of`.
//! - Entities (notification, order, case, reservation, sku) are
//!   summarised by [`summarise::summarise_by_key`]: per key, its compact facts (interned
//!   names via [`intern`], event ids as [`event_id::EventId`]: a UUID's 16 bytes, not its
//!   text; no decoded events) packed into one byte string ([`pack`]: names as indices into
//!   the operator's table, varint integers), from which the old and new summary of a changed
//!   key are computed each epoch; only their difference leaves.
//! - Keyed state (entities, dedup winners, windowed rows) holds each key once, in a numbered
//!   slot of a chunked vector (`slots`); expiry queues name keys by their 4-byte slot number,
//!   and slots freed by expired keys are reused.
//! - Summaries are exploded into [`sums::Sums`] contributions per view key, summed per key
//!   and epoch on the worker that made them (`pre_sum`: one record per key crosses the
//!   exchange, not one per contribution), and then by the windows' operator
//!   ([`windows::sum_windows`]) or differential's `count_total`, whose state is one row per
//!   aggregate key (windows, not events). Open cases are graded in one operator
//!   ([`grading`]) that holds each department's cases (ordered by creation) and SLA: an SLA
//!   change re-grades the department's cases from that state, a move of `as_of` only the
//!   cases whose status changes, and it counts `open_case_sla` from the rows it emits.
//! - Timeline entries share their event's id and summary text and intern the rest; the
//!   distinct of `tracking.events` entries holds their 128-bit hashes ([`distinct_hashed`]);
//!   the attribution of webhook and DLQ entries to their notification's tenant holds a
//!   ~33-byte packed handle per entry and the entry in a per-worker log on disk
//!   ([`attribution`]). Entity ids used as keys are held inline ([`intern::EntityId`]).

pub mod activity;
pub mod aggregate;
pub mod attribution;
mod by_kind;
mod case_summary;
pub mod cases;
pub mod clock;
pub mod cluster;
pub mod consolidation;
pub mod dedup;
pub mod distinct;
pub mod distinct_hashed;
pub mod engine;
pub mod event_id;
mod expiry_queue;
pub mod grading;
pub mod health;
pub mod ingest;
pub mod intern;
pub mod inventory;
pub mod notifications;
mod notifications_v2;
pub mod orders;
pub mod pack;
pub mod pending;
mod pre_sum;
pub mod reduce_windows;
pub mod row_totals;
mod slots;
pub mod summarise;
pub mod sums;
pub mod timelines;
pub mod watermark;
mod window_rows;
pub mod windows;
pub mod winner_log;
pub mod winners;

use differential_dataflow::collection::{concatenate, VecCollection};
use pulso_events::delivery_sla::DeliverySla;
use pulso_events::registry::{View, ViewSelection};
use pulso_events::views::{
    CaseBacklog, InventoryLevels, NotificationBounces, NotificationFailures, NotificationLatency,
    NotificationRates, NotificationVariants, OpenCase, OpenCaseSla, OrderCancellations,
    OrderMetrics, SlaCompliance, TenantActivity, TimelineEntry, TopicHealth, TrackingActivity,
    ViewRow,
};

pub use ingest::{ingest, ingest_ref, Ingested};
pub use pulso_events::retention;

use crate::aggregate::greatest_by_key;
use crate::retention::Retention;
use crate::watermark::Maxima;

/// The timely timestamp: an epoch number.
pub type Epoch = u64;

/// A deduplicated event, shared (not copied) by every operator that reads it.
pub type SharedEvent = std::sync::Arc<pulso_events::Event>;

/// One batch of updates of an operator's output (the one-pass operators hand out whole batches).
pub(crate) type Batch<D> = Vec<(D, Epoch, isize)>;

/// Builds the views `views` selects from the ingested records, [`ingest::split`] among their
/// readers by the same `views` (every view when it selects all; a domain's operators are built only
/// when one of its views is selected, and `pipeline_health`, which counts the domains' orphans,
/// needs the notification, order and case domains). `as_of` is the instant open cases are graded
/// at; when `None`, it is the greatest event time of the deduplicated events. `end` marks the end
/// of a bounded input (a replay): `open_cases` is then emitted once, when a record appears in it,
/// not every epoch ([`grading::grade_open_cases`]). `maxima` (of [`watermark::epoch_maxima`] over
/// `ingested.times`) gives the watermark, against which state expires as `retention` says; `sla`
/// grades `notification_latency`. The `AsOf` and `Watermark` rows are always given.
pub fn build_views<'s>(
    ingested: ingest::Split<'s>,
    as_of: Option<VecCollection<'s, Epoch, i64>>,
    end: Option<VecCollection<'s, Epoch, ()>>,
    maxima: Maxima<'s>,
    retention: &Retention,
    sla: DeliverySla,
    views: &ViewSelection,
) -> VecCollection<'s, Epoch, ViewRow> {
    let deduplicated =
        dedup::deduplicate(ingested.candidates, maxima.clone(), retention.late_after);
    let health = views.contains(TopicHealth::NAME);
    let readers = by_kind::Readers {
        timelines: views.contains(TimelineEntry::NAME),
        tenants: views.contains(TenantActivity::NAME),
        topics: health,
    };
    let by_kind = by_kind::by_kind(deduplicated, readers);
    let greatest = by_kind.greatest.clone();
    let as_of = as_of.unwrap_or_else(|| {
        let per_worker = greatest.map(|t| ((), t));
        greatest_by_key("MaxEventTime", per_worker).map(|((), t)| t)
    });
    let watermark = watermark::watermark_rows(maxima.clone()).map(ViewRow::Watermark);
    let mut rows = vec![as_of.clone().map(ViewRow::AsOf)];
    let mut orphans = Vec::new();
    // A domain is built once, when one of its views is selected (or `pipeline_health`,
    // which counts its orphans), and gives the rows of its views selected.
    macro_rules! domain {
        ($build:expr, $($field:ident => $variant:ident),* $(,)?) => {
            if health || views.any(&[$(<$variant as View>::NAME),*]) {
                let domain = $build;
                $(rows.extend(domain.$field.map(|c| c.map(ViewRow::$variant)));)*
                orphans.push(domain.orphans);
            }
        };
    }
    domain!(
        notifications::notification_views(
            by_kind.notifications,
            maxima.clone(),
            *retention,
            sla,
            views,
        ),
        rates => NotificationRates,
        bounces => NotificationBounces,
        latency => NotificationLatency,
        failures => NotificationFailures,
        variants => NotificationVariants,
    );
    domain!(
        orders::order_views(by_kind.orders, maxima.clone(), *retention, views),
        metrics => OrderMetrics,
        cancellations => OrderCancellations,
    );
    domain!(
        cases::case_views(by_kind.cases, as_of, end, maxima.clone(), *retention, views),
        backlog => CaseBacklog,
        compliance => SlaCompliance,
        open_sla => OpenCaseSla,
        open_cases => OpenCase,
    );
    if views.contains(InventoryLevels::NAME) {
        let levels = inventory::inventory_levels(by_kind.inventory, maxima.clone(), *retention);
        rows.push(levels.map(ViewRow::InventoryLevels));
    }
    if views.contains(TimelineEntry::NAME) {
        let entries = timelines::timelines(by_kind.every, maxima.clone(), *retention);
        rows.push(entries.map(ViewRow::Timeline));
    }
    if views.contains(TrackingActivity::NAME) {
        let tracking = activity::tracking_activity(by_kind.tracking, maxima.clone(), *retention);
        rows.push(tracking.map(ViewRow::TrackingActivity));
    }
    if views.contains(TenantActivity::NAME) {
        let tenants = activity::tenant_activity(by_kind.tenants, maxima, *retention);
        rows.push(tenants.map(ViewRow::TenantActivity));
    }
    if health {
        let orphans = concatenate(ingested.tallies.scope(), orphans);
        let health = health::pipeline_health(ingested.tallies, by_kind.topics, orphans);
        rows.push(health.map(ViewRow::TopicHealth));
    }
    // One n-ary concatenation: a chain of binary `concat`s would pass the rows of the first
    // view through one operator per view after it.
    watermark.concatenate(rows)
}
