//! Writing view files in bounded memory: a view's rows are encoded a chunk (row group) at a
//! time, a few chunks at once on the machine's cores, so a snapshot of a large view (the
//! retained timelines) costs a few chunks of Arrow buffers, not a second copy of the view.

use std::borrow::Borrow;
use std::fs;
use std::path::Path;
use std::thread;

use pulso_events::registry::{visit_views, View, ViewVisitor};
use pulso_events::time::Micros;
use pulso_events::views::ViewSet;

use super::{atomic, row_groups, view_path, writer_properties, AS_OF_FILE};
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

/// Writes `rows`, in order, as `dir/<view>.parquet`, replaced atomically, in row groups of
/// [`WRITE_CHUNK_ROWS`] rows encoded on as many threads as the machine has cores (see
/// [`super::row_groups`]). `as_of` goes into the metadata of `open_case_sla` only.
pub fn write_view<R: ViewRows>(
    dir: &Path,
    rows: &[impl Borrow<R> + Sync],
    as_of: Option<Micros>,
) -> Result<(), SinkError> {
    let properties = writer_properties(as_of.filter(|_| R::NAME == AS_OF_FILE))?;
    let threads = thread::available_parallelism().map_or(1, |n| n.get());
    atomic::write_atomically(&view_path(dir, R::NAME), |file| {
        row_groups::write_row_groups::<R, _>(file, rows, properties, threads)
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
                self.result = write_view::<V>(self.dir, V::rows(self.views), self.views.as_of);
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
