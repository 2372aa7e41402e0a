//! Writing view files in bounded memory: a view's rows are encoded and written a chunk at a
//! time, so a snapshot of a large view (the retained timelines) costs one chunk of Arrow
//! buffers, not a second copy of the view.

use std::fs;
use std::path::Path;

use ::parquet::arrow::ArrowWriter;
use pulso_events::registry::{visit_views, View, ViewVisitor};
use pulso_events::time::Micros;
use pulso_events::views::ViewSet;

use super::{atomic, encode, view_path, writer_properties, AS_OF_FILE};
use crate::SinkError;

/// Most rows encoded into one Arrow batch while writing a view file.
pub const WRITE_CHUNK_ROWS: usize = 4 * 1024;

/// The rows of one view file: any view of the registry.
pub trait ViewRows: View {}

impl<V: View> ViewRows for V {}

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
        let first = encode::encode(&chunk)?;
        let mut writer = ArrowWriter::try_new(file, first.schema(), Some(properties))?;
        writer.write(&first)?;
        while next_chunk(&mut chunk) {
            writer.write(&encode::encode(&chunk)?)?;
        }
        Ok(writer.into_inner()?)
    })
}

/// Writes every view of `views` to `dir/<view>.parquet` (creating `dir`), each file replaced
/// atomically, after removing leftover temporary files of interrupted writes. Rows are written
/// in the order of the set.
pub fn write_views(dir: &Path, views: &ViewSet) -> Result<(), SinkError> {
    prepare_views_dir(dir)?;
    struct Write<'a> {
        dir: &'a Path,
        views: &'a ViewSet,
        result: Result<(), SinkError>,
    }
    impl ViewVisitor for Write<'_> {
        fn visit<V: View>(&mut self) {
            if self.result.is_ok() {
                self.result = write_view(self.dir, V::rows(self.views), self.views.as_of);
            }
        }
    }
    let mut write = Write {
        dir,
        views,
        result: Ok(()),
    };
    visit_views(&mut write);
    write.result
}
