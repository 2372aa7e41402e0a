//! Routing of the view changes across timely's cluster: worker `index` of `peers` is global
//! (process `p` runs workers `p * workers .. (p + 1) * workers`), every dataflow exchanges by
//! key across all workers, and the view changes are sent to the first worker of the processes
//! that serve them (every process, in the live job) or write them (process 0). Where the
//! processes are and how they connect is `pulso-pipeline`'s (`cluster`).

use differential_dataflow::VecCollection;
use pulso_events::views::ViewRow;
use timely::dataflow::operators::vec::Map;
use timely::dataflow::operators::Exchange;
use timely::dataflow::StreamVec;

use crate::Epoch;

/// Which processes receive the view changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collect {
    /// Process 0 only (a replay writes its outputs there).
    Leader,
    /// Every process (each serves the API).
    Everywhere,
}

/// The changes of `views` as a stream that, with several processes, holds every change on the
/// first worker of each collecting process (and nothing elsewhere); with one process it is
/// the changes where they are, and every worker may hand them over.
pub fn route_changes<'s>(
    views: VecCollection<'s, Epoch, ViewRow>,
    workers: usize,
    processes: usize,
    collect: Collect,
) -> StreamVec<'s, Epoch, (ViewRow, Epoch, isize)> {
    if processes <= 1 {
        return views.inner;
    }
    let workers = workers.max(1) as u64;
    let targets = match collect {
        Collect::Leader => 1,
        Collect::Everywhere => processes as u64,
    };
    views
        .inner
        .flat_map(move |change| (0..targets).map(move |p| (p * workers, change.clone())))
        .exchange(|(target, _)| *target)
        .map(|(_, change)| change)
}
