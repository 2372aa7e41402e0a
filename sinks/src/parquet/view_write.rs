//! Writing view files in bounded memory: a view's rows are encoded a chunk (row group) at a
//! time, a few chunks at once on the machine's cores, so a snapshot of a large view (the
//! retained timelines) costs a few chunks of Arrow buffers, not a second copy of the view.

use std::borrow::Borrow;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::thread;

use pulso_events::registry::{visit_views, View, ViewVisitor};
use pulso_events::time::Micros;
use pulso_events::views::ViewSet;

use super::row_groups::{self, RowGroupWriter};
use super::{atomic, view_path, view_properties};
use crate::SinkError;

/// Most rows encoded into one Arrow batch while writing a view file.
pub const WRITE_CHUNK_ROWS: usize = 16 * 1024;

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
    let properties = view_properties::<R>(as_of)?;
    atomic::write_atomically(&view_path(dir, R::NAME), |file| {
        row_groups::write_row_groups::<R, _>(file, rows, properties, threads())
    })
}

/// The threads a view file is encoded on: every core the machine reports.
fn threads() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// A view file written as its rows come, in order, in bounded memory: rows wait only until a
/// round of row groups can be encoded (see [`super::row_groups`]); a full round is encoded on
/// background threads while the next round's rows come (so a writer holds two rounds at most),
/// and the file replaces `dir/<view>.parquet` atomically at [`ViewFileWriter::finish`]. The
/// file is, byte for byte, what [`write_view`] writes from the same rows at once. A writer
/// dropped unfinished removes its temporary file.
pub struct ViewFileWriter<R: ViewRows + Send + 'static> {
    path: PathBuf,
    /// `None` once finished.
    writer: Option<Writer<R>>,
    pending: Vec<R>,
    /// Rows of a round: pending rows are encoded once they are this many.
    round_rows: usize,
    /// Whether the file replaced the view file.
    committed: bool,
}

/// The row-group writer: ready, or encoding a round on a background thread that hands it back.
enum Writer<R> {
    Idle(Box<RowGroupWriter<R>>),
    Encoding(thread::JoinHandle<Result<RowGroupWriter<R>, SinkError>>),
}

/// The most rows a writer reserves room for at once (a round may hold more on many cores).
const MOST_RESERVED_ROWS: usize = 1 << 20;

impl<R: ViewRows + Send + 'static> ViewFileWriter<R> {
    /// Starts `dir/<view>.parquet` (written beside it, under its temporary name); `as_of` as in
    /// [`write_view`].
    pub fn create(dir: &Path, as_of: Option<Micros>) -> Result<Self, SinkError> {
        let path = view_path(dir, R::NAME);
        let tmp = atomic::temp_path(&path);
        let file = File::create(&tmp).map_err(SinkError::io(&tmp))?;
        let writer = RowGroupWriter::new(file, view_properties::<R>(as_of)?, threads())?;
        let round_rows = writer.round_rows();
        Ok(ViewFileWriter {
            path,
            pending: Vec::with_capacity(round_rows.min(MOST_RESERVED_ROWS)),
            writer: Some(Writer::Idle(Box::new(writer))),
            round_rows,
            committed: false,
        })
    }

    /// Appends `row` (rows are written in the order they are pushed).
    pub fn push(&mut self, row: R) -> Result<(), SinkError> {
        self.pending.push(row);
        if self.pending.len() >= self.round_rows {
            let mut writer = self.idle_writer()?;
            let room = Vec::with_capacity(self.round_rows.min(MOST_RESERVED_ROWS));
            let rows = std::mem::replace(&mut self.pending, room);
            self.writer = Some(Writer::Encoding(thread::spawn(move || {
                writer.write(&rows)?;
                Ok(writer)
            })));
        }
        Ok(())
    }

    /// Writes the rows still waiting and the footer, then replaces the view file.
    pub fn finish(mut self) -> Result<(), SinkError> {
        let mut writer = self.idle_writer()?;
        writer.write(&std::mem::take(&mut self.pending))?;
        atomic::commit(writer.finish()?, &self.path)?;
        self.committed = true;
        Ok(())
    }

    /// The row-group writer, once the round being encoded (if any) is written.
    fn idle_writer(&mut self) -> Result<RowGroupWriter<R>, SinkError> {
        match self.writer.take().expect("unfinished writer") {
            Writer::Idle(writer) => Ok(*writer),
            Writer::Encoding(encoding) => encoding
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        }
    }
}

impl<R: ViewRows + Send + 'static> Drop for ViewFileWriter<R> {
    fn drop(&mut self) {
        if let Some(Writer::Encoding(encoding)) = self.writer.take() {
            let _ = encoding.join();
        }
        if !self.committed {
            let _ = fs::remove_file(atomic::temp_path(&self.path));
        }
    }
}

/// Writes every view of `views` to `dir/<view>.parquet` (creating `dir`), each file replaced
/// atomically, after removing leftover temporary files of interrupted writes. Rows are written
/// in the order of the set.
pub fn write_views(dir: &Path, views: &ViewSet) -> Result<(), SinkError> {
    write_views_where(dir, views, |_| true)
}

/// [`write_views`] for the views whose name `keep` accepts only (the others' files are neither
/// written nor removed; e.g. the file a [`ViewFileWriter`] writes).
pub fn write_views_where(
    dir: &Path,
    views: &ViewSet,
    keep: impl Fn(&str) -> bool,
) -> Result<(), SinkError> {
    prepare_views_dir(dir)?;
    write_views_beside(dir, views, keep)
}

/// [`write_views_where`] into a folder [`prepare_views_dir`] already prepared: it removes no
/// temporary file, so a [`ViewFileWriter`] may be writing into `dir` at the same time.
pub fn write_views_beside(
    dir: &Path,
    views: &ViewSet,
    keep: impl Fn(&str) -> bool,
) -> Result<(), SinkError> {
    struct Write<'a> {
        dir: &'a Path,
        views: &'a ViewSet,
        keep: &'a dyn Fn(&str) -> bool,
        result: Result<(), SinkError>,
    }
    impl ViewVisitor for Write<'_> {
        fn visit<V: View>(&mut self) {
            if self.result.is_ok() && (self.keep)(V::NAME) {
                self.result = write_view::<V>(self.dir, V::rows(self.views), self.views.as_of);
            }
        }
    }
    let mut write = Write {
        dir,
        views,
        keep: &keep,
        result: Ok(()),
    };
    visit_views(&mut write);
    write.result
}

#[cfg(test)]
mod tests {
    use pulso_events::views::TimelineEntry;

    use super::*;
    use crate::parquet::row_groups::tests::entries;
    use crate::parquet::row_groups::GROUPS_PER_ROUND;

    #[test]
    fn rows_pushed_one_by_one_write_the_file_of_write_view() {
        // More than one round of row groups on any machine with up to 4 cores, and a short
        // last row group.
        let rows = entries((4 * GROUPS_PER_ROUND * WRITE_CHUNK_ROWS) as i64 + 1_234);
        let (whole, streamed) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write_view::<TimelineEntry>(whole.path(), &rows, None).unwrap();
        let mut writer = ViewFileWriter::<TimelineEntry>::create(streamed.path(), None).unwrap();
        for row in rows {
            writer.push(row).unwrap();
        }
        writer.finish().unwrap();
        let read = |dir: &Path| fs::read(view_path(dir, "timelines")).unwrap();
        assert!(read(whole.path()) == read(streamed.path()));
        assert_eq!(
            fs::read_dir(streamed.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[test]
    fn views_written_beside_a_writer_leave_its_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let rows = entries(10);
        let mut writer = ViewFileWriter::<TimelineEntry>::create(dir.path(), None).unwrap();
        let views = ViewSet::default();
        let others = |view: &str| view != TimelineEntry::NAME;
        write_views_beside(dir.path(), &views, others).unwrap();
        for row in rows.clone() {
            writer.push(row).unwrap();
        }
        writer.finish().unwrap();
        let read = crate::parquet::read_views(dir.path()).unwrap();
        assert_eq!(read.timelines, rows);

        // `write_views_where` cleans the folder first: the writer's temporary file goes.
        let mut writer = ViewFileWriter::<TimelineEntry>::create(dir.path(), None).unwrap();
        write_views_where(dir.path(), &views, others).unwrap();
        writer.push(rows[0].clone()).unwrap();
        assert!(writer.finish().is_err());
    }

    #[test]
    fn an_unfinished_writer_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = ViewFileWriter::<TimelineEntry>::create(dir.path(), None).unwrap();
        writer.push(entries(1).remove(0)).unwrap();
        drop(writer);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
