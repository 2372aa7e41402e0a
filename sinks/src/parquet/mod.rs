//! The views as Parquet files: `dir/<view>.parquet` for every view of `VIEWS.md` plus
//! `open_cases.parquet`, with the column names and order of `VIEWS.md`, timestamps as
//! TIMESTAMP(MICROS, UTC), money as DECIMAL(38, 2), rates as nullable DOUBLE. Files are
//! zstd-compressed (level [`VIEW_ZSTD_LEVEL`]: a live run rewrites them often), in row groups
//! of [`WRITE_CHUNK_ROWS`] rows (encoded a few at a time on every core, so a writer buffers a
//! few chunks), and replaced atomically. Columns the registry marks as mostly distinct (event
//! ids, summaries) are stored without a dictionary and without min/max statistics (which
//! cannot prune unsorted, mostly distinct values); the history files are written alike.
//! [`read_views`] reads them back into the exact [`ViewSet`] written. The raw archive, also
//! Parquet, is a source rather than a view: it lives in [`crate::archive`].

pub(crate) mod atomic;
mod cells;
mod columns;
mod encode;
mod history;
#[cfg(test)]
mod history_tests;
mod history_writer;
mod row_groups;
#[cfg(test)]
mod tests;
mod view_write;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use ::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use ::parquet::arrow::ArrowWriter;
use ::parquet::basic::{Compression, ZstdLevel};
use ::parquet::file::metadata::KeyValue;
use ::parquet::file::properties::{EnabledStatistics, WriterProperties};
use ::parquet::schema::types::ColumnPath;
use arrow::record_batch::RecordBatch;
use pulso_events::registry::{visit_views, View, ViewVisitor};
use pulso_events::time::Micros;
use pulso_events::views::ViewSet;

use crate::SinkError;
use cells::Batch;

pub use atomic::{clean_temp_files, temp_path, TEMP_SUFFIX};
pub use columns::{MONEY_PRECISION, MONEY_SCALE, TIMESTAMP_ZONE};
pub use history::{read_history, read_whole_views, write_history, HISTORY_DIR};
pub use history_writer::HistoryWriter;
pub use view_write::{
    prepare_views_dir, write_view, write_views, write_views_beside, write_views_where,
    ViewFileWriter, ViewRows, WRITE_CHUNK_ROWS,
};

/// The zstd compression level of view files and history parts (rewritten every snapshot).
pub const VIEW_ZSTD_LEVEL: i32 = 1;
/// The key-value metadata key of `open_case_sla.parquet` holding `as_of` (UTC microseconds
/// since the epoch, as decimal text); absent when the set has no `as_of`.
pub const AS_OF_KEY: &str = "pulso.as_of";
/// The file whose metadata holds [`AS_OF_KEY`].
pub const AS_OF_FILE: &str = "open_case_sla";
/// The extension of the view files.
pub const EXTENSION: &str = "parquet";

/// One file of a [`ViewSet`] (one view of the registry): its name and how its rows are
/// converted.
pub(crate) struct ViewFile {
    pub(crate) name: &'static str,
    /// Whether its rows expire, so that it has a history.
    pub(crate) expires: bool,
    pub(crate) decode: fn(&Batch, &mut ViewSet) -> Result<(), SinkError>,
}

/// Every file, in registry (`VIEWS.md`) order.
static VIEW_FILES: LazyLock<Vec<ViewFile>> = LazyLock::new(|| {
    struct Files(Vec<ViewFile>);
    impl ViewVisitor for Files {
        fn visit<V: View>(&mut self) {
            self.0.push(ViewFile {
                name: V::NAME,
                expires: V::EXPIRES,
                decode: cells::decode_set::<V>,
            });
        }
    }
    let mut files = Files(Vec::new());
    visit_views(&mut files);
    files.0
});

/// The names of the files [`write_views`] writes (without extension), in order.
pub fn file_names() -> impl Iterator<Item = &'static str> {
    VIEW_FILES.iter().map(|f| f.name)
}

/// The path of the file of view `name` in `dir`: `dir/<name>.parquet`.
pub fn view_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.{EXTENSION}"))
}

/// The writer settings of every view file, with `as_of` in the metadata when given.
fn writer_properties(as_of: Option<Micros>) -> Result<WriterProperties, SinkError> {
    let metadata = as_of.map(|t| vec![KeyValue::new(AS_OF_KEY.to_owned(), t.to_string())]);
    Ok(WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(VIEW_ZSTD_LEVEL)?))
        .set_max_row_group_row_count(Some(WRITE_CHUNK_ROWS))
        .set_key_value_metadata(metadata)
        .build())
}

/// The writer settings of view `V`'s file: `as_of` goes into `open_case_sla`'s metadata only;
/// columns of mostly distinct values are stored without a dictionary or statistics.
fn view_properties<V: View>(as_of: Option<Micros>) -> Result<WriterProperties, SinkError> {
    let properties = writer_properties(as_of.filter(|_| V::NAME == AS_OF_FILE))?;
    let distinct = V::columns().iter().filter(|column| column.distinct);
    Ok(distinct
        .fold(properties.into_builder(), |properties, column| {
            let path = ColumnPath::from(column.name.as_ref());
            properties
                .set_column_dictionary_enabled(path.clone(), false)
                .set_column_statistics_enabled(path, EnabledStatistics::None)
        })
        .build())
}

/// Writes `batch` as the Parquet file `path` with `properties`, atomically.
fn write_batch(
    path: &Path,
    batch: &RecordBatch,
    properties: WriterProperties,
) -> Result<(), SinkError> {
    atomic::write_atomically(path, |file| {
        let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(properties))?;
        writer.write(batch)?;
        Ok(writer.into_inner()?)
    })
}

/// Reads the files [`write_views`] wrote in `dir` back into a [`ViewSet`] equal to the one
/// written (rates and averages are derived, so they are not read). `as_of` comes from the
/// metadata of `open_case_sla.parquet`. Every file must exist.
pub fn read_views(dir: &Path) -> Result<ViewSet, SinkError> {
    let mut views = ViewSet::default();
    for file in VIEW_FILES.iter() {
        let path = view_path(dir, file.name);
        let reader = File::open(&path).map_err(SinkError::io(&path))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(reader)?;
        if file.name == AS_OF_FILE {
            views.as_of = read_as_of(file.name, builder.metadata().file_metadata())?;
        }
        for batch in builder.build()? {
            (file.decode)(&Batch::new(file.name, &batch?), &mut views)?;
        }
    }
    Ok(views)
}

/// The `as_of` stored in a file's key-value metadata, if any.
fn read_as_of(
    name: &str,
    metadata: &::parquet::file::metadata::FileMetaData,
) -> Result<Option<Micros>, SinkError> {
    let Some(entry) = metadata
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|e| e.key == AS_OF_KEY))
    else {
        return Ok(None);
    };
    let text = entry.value.as_deref().unwrap_or_default();
    text.parse().map(Some).map_err(|_| SinkError::Schema {
        file: name.to_owned(),
        message: format!("invalid {AS_OF_KEY} metadata {text:?}"),
    })
}
