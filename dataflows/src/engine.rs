//! The engine's dataflow as the live loop and the replay build it inside a timely scope: the
//! epoch maxima of the ingested records ([`epoch_maxima`]), every view ([`build_views`]) and
//! the routing of the view changes to the workers that hand them over ([`route_changes`]).
//! The drivers around it (sources, threads, channels) are `pulso-pipeline`'s.

use differential_dataflow::VecCollection;
use pulso_events::delivery_sla::DeliverySla;
use pulso_events::registry::ViewSelection;
use pulso_events::views::ViewRow;
use timely::dataflow::StreamVec;

use crate::cluster::{route_changes, Collect};
use crate::ingest::split;
use crate::retention::Retention;
use crate::watermark::{epoch_maxima, Maxima};
use crate::{build_views, Epoch, Ingested};

/// Where the view changes of [`routed_views`] go, and which views it builds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routing {
    /// Timely workers per process.
    pub workers: usize,
    /// Processes of the cluster.
    pub processes: usize,
    /// Which processes collect the changes.
    pub collect: Collect,
    /// The views built (a batch pass may build some only; a live run builds all).
    pub views: ViewSelection,
}

/// The views' changes of `records` routed as `routing` says, and the records' epoch maxima
/// (for the driver to [`crate::watermark::observe`] with a probe it waits on). `as_of` grades
/// open cases (`None`: the greatest event time); `end`, `retention` and `sla` as in
/// [`build_views`].
pub fn routed_views<'s>(
    records: VecCollection<'s, Epoch, Ingested>,
    as_of: Option<VecCollection<'s, Epoch, i64>>,
    end: Option<VecCollection<'s, Epoch, ()>>,
    retention: &Retention,
    sla: DeliverySla,
    routing: &Routing,
) -> (StreamVec<'s, Epoch, (ViewRow, Epoch, isize)>, Maxima<'s>) {
    let ingested = split(records, &routing.views);
    let maxima = epoch_maxima(&ingested.times);
    let views = build_views(
        ingested,
        as_of,
        end,
        maxima.clone(),
        retention,
        sla,
        &routing.views,
    );
    let changes = route_changes(views, routing.workers, routing.processes, routing.collect);
    (changes, maxima)
}
