//! View history (VIEWS.md, "Retention"): rows that expired from the engine are appended once
//! to `root/<view>/date=<day>/part-<name>.parquet`, with the columns of the view's snapshot
//! file, so that snapshot ∪ history is the whole view. `<day>` is the day of the row's window
//! start (of the entry's time for `timelines`).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use ::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use ::parquet::file::properties::WriterProperties;
use arrow::record_batch::RecordBatch;
use pulso_events::registry::{visit_views, View, ViewVisitor};
use pulso_events::views::ViewSet;

use super::cells::Batch;
use super::{encode, view_properties, write_batch, ViewFile, EXTENSION, VIEW_FILES};
use crate::archive::{day_of, format_day, DATE_KEY};
use crate::SinkError;

/// The folder of the history under an output folder.
pub const HISTORY_DIR: &str = "history";

/// The views that have history: those whose rows expire (the windowed ones and
/// `timelines`).
fn files() -> impl Iterator<Item = &'static ViewFile> {
    VIEW_FILES.iter().filter(|f| f.expires)
}

/// One day of a view's history: the view's name, the day, its rows as one batch, and the
/// view's writer settings.
pub(super) struct DayBatch {
    pub(super) name: &'static str,
    pub(super) day: i64,
    pub(super) batch: RecordBatch,
    pub(super) properties: WriterProperties,
}

/// For each view with history and each day of its rows in `expired` (in view, then day
/// order): that day's [`DayBatch`].
pub(super) fn day_batches(
    expired: &ViewSet,
    each: impl FnMut(DayBatch) -> Result<(), SinkError>,
) -> Result<(), SinkError> {
    struct Days<'a, F> {
        expired: &'a ViewSet,
        each: F,
        result: Result<(), SinkError>,
    }
    impl<F: FnMut(DayBatch) -> Result<(), SinkError>> ViewVisitor for Days<'_, F> {
        fn visit<V: View>(&mut self) {
            if V::EXPIRES && self.result.is_ok() {
                self.result = view_day_batches::<V>(self.expired, &mut self.each);
            }
        }
    }
    let mut days = Days {
        expired,
        each,
        result: Ok(()),
    };
    visit_views(&mut days);
    days.result
}

/// [`day_batches`] of view `V`: its rows are dated by their expiry's time.
fn view_day_batches<V: View>(
    expired: &ViewSet,
    each: &mut impl FnMut(DayBatch) -> Result<(), SinkError>,
) -> Result<(), SinkError> {
    let rows = V::rows(expired);
    let days: Vec<i64> = rows
        .iter()
        .map(|r| r.expiry().map_or(0, |e| day_of(e.time())))
        .collect();
    let properties = view_properties::<V>(None)?;
    let mut distinct: Vec<i64> = days.clone();
    distinct.sort_unstable();
    distinct.dedup();
    for day in distinct {
        let of_day: Vec<&V> = rows
            .iter()
            .zip(&days)
            .filter(|(_, d)| **d == day)
            .map(|(r, _)| r)
            .collect();
        each(DayBatch {
            name: V::NAME,
            day,
            batch: encode::encode::<V>(&of_day)?,
            properties: properties.clone(),
        })?;
    }
    Ok(())
}

/// The path of part `part` of view `name`'s history of `day` under `root`, creating its
/// folder: `root/<view>/date=<day>/part-<part>.parquet`.
pub(super) fn part_path(
    root: &Path,
    name: &str,
    day: i64,
    part: &str,
) -> Result<PathBuf, SinkError> {
    let dir = root
        .join(name)
        .join(format!("{DATE_KEY}={}", format_day(day)?));
    fs::create_dir_all(&dir).map_err(SinkError::io(&dir))?;
    Ok(dir.join(format!("part-{part}.{EXTENSION}")))
}

/// Appends the rows of `expired` to the history under `root`, one file per view and day named
/// `part-<part>.parquet` (each written atomically); returns the rows written.
pub fn write_history(root: &Path, expired: &ViewSet, part: &str) -> Result<usize, SinkError> {
    let mut written = 0;
    day_batches(expired, |day| {
        written += day.batch.num_rows();
        let path = part_path(root, day.name, day.day, part)?;
        write_batch(&path, &day.batch, day.properties)
    })?;
    Ok(written)
}

/// A run's whole views: its snapshot in `views_dir` and the rows of the history next to it
/// (`views_dir/../history`, when present). A row in both (written to the history just before
/// the snapshot that drops it) counts once.
pub fn read_whole_views(views_dir: &Path) -> Result<ViewSet, SinkError> {
    let mut views = super::read_views(views_dir)?;
    let history = views_dir
        .parent()
        .map(|out| out.join(HISTORY_DIR))
        .filter(|h| h.is_dir());
    if let Some(history) = history {
        let old = read_history(&history)?;
        struct Merge<'a> {
            views: &'a mut ViewSet,
            old: ViewSet,
        }
        impl ViewVisitor for Merge<'_> {
            fn visit<V: View>(&mut self) {
                if V::EXPIRES {
                    let rows = V::rows_mut(self.views);
                    rows.append(V::rows_mut(&mut self.old));
                    rows.sort();
                    rows.dedup();
                }
            }
        }
        visit_views(&mut Merge {
            views: &mut views,
            old,
        });
        views.sort();
    }
    Ok(views)
}

/// Reads every history file under `root` back into one set (the rows expired so far).
pub fn read_history(root: &Path) -> Result<ViewSet, SinkError> {
    let mut views = ViewSet::default();
    for file in files() {
        let mut paths: BTreeMap<PathBuf, ()> = BTreeMap::new();
        let dir = root.join(file.name);
        let Ok(days) = fs::read_dir(&dir) else {
            continue;
        };
        for day in days.flatten() {
            let day = day.path();
            for part in fs::read_dir(&day).map_err(SinkError::io(&day))?.flatten() {
                let path = part.path();
                if path.extension().is_some_and(|e| e == EXTENSION) {
                    paths.insert(path, ());
                }
            }
        }
        for path in paths.into_keys() {
            let reader = File::open(&path).map_err(SinkError::io(&path))?;
            for batch in ParquetRecordBatchReaderBuilder::try_new(reader)?.build()? {
                (file.decode)(&Batch::new(file.name, &batch?), &mut views)?;
            }
        }
    }
    views.sort();
    Ok(views)
}
