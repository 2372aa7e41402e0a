//! Writing view files in bounded memory: a view's rows are encoded and written a chunk at a
//! time, so a snapshot of a large view (the retained timelines) costs one chunk of Arrow
//! buffers, not a second copy of the view.

use std::fs;
use std::path::Path;

use ::parquet::arrow::ArrowWriter;
use arrow::record_batch::RecordBatch;
use pulso_events::time::Micros;
use pulso_events::views::{
    CaseBacklog, InventoryLevels, NotificationBounces, NotificationRates, OpenCase, OpenCaseSla,
    OrderCancellations, OrderMetrics, SlaCompliance, TimelineEntry, TopicHealth, ViewSet,
};

use super::{atomic, encode, view_path, writer_properties, AS_OF_FILE};
use crate::SinkError;

/// Most rows encoded into one Arrow batch while writing a view file.
pub const WRITE_CHUNK_ROWS: usize = 4 * 1024;

/// The rows of one view file: its name and how a slice of rows becomes an Arrow batch.
pub trait ViewRows: Clone {
    /// The file name, without extension (the view's name).
    const NAME: &'static str;
    /// The rows as one batch with the file's columns.
    fn encode(rows: &[Self]) -> Result<RecordBatch, SinkError>;
}

macro_rules! view_rows {
    ($($row:ty => $name:ident),* $(,)?) => {$(
        impl ViewRows for $row {
            const NAME: &'static str = stringify!($name);
            fn encode(rows: &[Self]) -> Result<RecordBatch, SinkError> {
                encode::$name(rows)
            }
        }
    )*};
}

view_rows! {
    NotificationRates => notification_rates,
    NotificationBounces => notification_bounces,
    OrderMetrics => order_metrics,
    OrderCancellations => order_cancellations,
    InventoryLevels => inventory_levels,
    CaseBacklog => case_backlog,
    SlaCompliance => sla_compliance,
    OpenCaseSla => open_case_sla,
    OpenCase => open_cases,
    TimelineEntry => timelines,
    TopicHealth => pipeline_health,
}

/// Creates `dir` and removes leftover temporary files of interrupted writes from it.
pub fn prepare_views_dir(dir: &Path) -> Result<(), SinkError> {
    fs::create_dir_all(dir).map_err(SinkError::io(dir))?;
    atomic::clean_temp_files(dir)?;
    Ok(())
}

/// Writes `rows`, in order, as `dir/<view>.parquet`, replaced atomically, encoding at most
/// [`WRITE_CHUNK_ROWS`] rows at a time. `as_of` goes into the metadata of `open_case_sla`
/// only.
pub fn write_view<'a, R: ViewRows + 'a>(
    dir: &Path,
    rows: impl IntoIterator<Item = &'a R>,
    as_of: Option<Micros>,
) -> Result<(), SinkError> {
    let properties = writer_properties(as_of.filter(|_| R::NAME == AS_OF_FILE))?;
    let mut rows = rows.into_iter();
    let mut chunk: Vec<R> = Vec::new();
    let mut next_chunk = |chunk: &mut Vec<R>| {
        chunk.clear();
        chunk.extend(rows.by_ref().take(WRITE_CHUNK_ROWS).cloned());
        !chunk.is_empty()
    };
    atomic::write_atomically(&view_path(dir, R::NAME), |file| {
        next_chunk(&mut chunk);
        let first = R::encode(&chunk)?;
        let mut writer = ArrowWriter::try_new(file, first.schema(), Some(properties))?;
        writer.write(&first)?;
        while next_chunk(&mut chunk) {
            writer.write(&R::encode(&chunk)?)?;
        }
        Ok(writer.into_inner()?)
    })
}

/// Writes every view of `views` to `dir/<view>.parquet` (creating `dir`), each file replaced
/// atomically, after removing leftover temporary files of interrupted writes. Rows are written
/// in the order of the set.
pub fn write_views(dir: &Path, views: &ViewSet) -> Result<(), SinkError> {
    prepare_views_dir(dir)?;
    let as_of = views.as_of;
    write_view(dir, &views.notification_rates, as_of)?;
    write_view(dir, &views.notification_bounces, as_of)?;
    write_view(dir, &views.order_metrics, as_of)?;
    write_view(dir, &views.order_cancellations, as_of)?;
    write_view(dir, &views.inventory_levels, as_of)?;
    write_view(dir, &views.case_backlog, as_of)?;
    write_view(dir, &views.sla_compliance, as_of)?;
    write_view(dir, &views.open_case_sla, as_of)?;
    write_view(dir, &views.open_cases, as_of)?;
    write_view(dir, &views.timelines, as_of)?;
    write_view(dir, &views.pipeline_health, as_of)
}
