//! The live run's Parquet view snapshots, written straight from the serving store: each
//! view's rows are sorted by reference and encoded a chunk at a time under the store's read
//! lock, so a snapshot costs a pointer per row plus one chunk, never a copy of the views.
//! Only the consumer thread applies epochs, so the store cannot change while it writes.

use std::path::Path;

use pulso_queries::store::{Keyed, Table};
use pulso_queries::ViewStore;
use pulso_sinks::parquet::{prepare_views_dir, write_view, ViewRows};
use pulso_sinks::SinkError;

/// Writes every view of `store` to `dir/<view>.parquet`, each replaced atomically, with the
/// rows of each view in order (as `write_views` writes a sorted `ViewSet`).
pub fn write_store_views(dir: &Path, store: &ViewStore) -> Result<(), SinkError> {
    prepare_views_dir(dir)?;
    let tables = store.read();
    let as_of = tables.as_of;
    write_view(dir, sorted(&tables.notification_rates), as_of)?;
    write_view(dir, sorted(&tables.notification_bounces), as_of)?;
    write_view(dir, sorted(&tables.order_metrics), as_of)?;
    write_view(dir, sorted(&tables.order_cancellations), as_of)?;
    write_view(dir, sorted(&tables.inventory_levels), as_of)?;
    write_view(dir, sorted(&tables.case_backlog), as_of)?;
    write_view(dir, sorted(&tables.sla_compliance), as_of)?;
    write_view(dir, sorted(&tables.open_case_sla), as_of)?;
    write_view(dir, sorted(&tables.open_cases), as_of)?;
    write_view(dir, sorted(&tables.timelines), as_of)?;
    write_view(dir, sorted(&tables.pipeline_health), as_of)
}

/// The rows of `table` in row order, by reference.
fn sorted<R: Keyed + Ord + ViewRows>(table: &Table<R>) -> Vec<&R> {
    let mut rows: Vec<&R> = table.rows().collect();
    rows.sort_unstable();
    rows
}
