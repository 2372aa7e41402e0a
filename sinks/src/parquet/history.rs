//! View history (VIEWS.md, "Retention"): rows that expired from the engine are appended once
//! to `root/<view>/date=<day>/part-<name>.parquet`, with the columns of the view's snapshot
//! file, so that snapshot ∪ history is the whole view. `<day>` is the day of the row's window
//! start (of the entry's time for `timelines`).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use ::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use arrow::record_batch::RecordBatch;
use pulso_events::views::ViewSet;

use super::archive::{day_of, format_day, DATE_KEY};
use super::cells::Batch;
use super::{write_batch, ViewFile, EXTENSION, VIEW_FILES};
use crate::SinkError;

/// The folder of the history under an output folder.
pub const HISTORY_DIR: &str = "history";

/// The views that have history: the windowed ones and `timelines`.
const WITH_HISTORY: [&str; 5] = [
    "notification_rates",
    "notification_bounces",
    "order_metrics",
    "sla_compliance",
    "timelines",
];

/// The day each row of `name` belongs to in `expired`, in the rows' order.
fn days_of(name: &str, expired: &ViewSet) -> Vec<i64> {
    match name {
        "notification_rates" => expired
            .notification_rates
            .iter()
            .map(|r| day_of(r.window_start))
            .collect(),
        "notification_bounces" => expired
            .notification_bounces
            .iter()
            .map(|r| day_of(r.day))
            .collect(),
        "order_metrics" => expired
            .order_metrics
            .iter()
            .map(|r| day_of(r.window_start))
            .collect(),
        "sla_compliance" => expired
            .sla_compliance
            .iter()
            .map(|r| day_of(r.day))
            .collect(),
        _ => expired
            .timelines
            .iter()
            .map(|r| day_of(r.timestamp))
            .collect(),
    }
}

/// The rows of `expired` whose day is `day`, as a set holding only them (for one view).
fn of_day(name: &str, expired: &ViewSet, days: &[i64], day: i64) -> ViewSet {
    fn pick<T: Clone>(rows: &[T], days: &[i64], day: i64) -> Vec<T> {
        rows.iter()
            .zip(days)
            .filter(|(_, d)| **d == day)
            .map(|(r, _)| r.clone())
            .collect()
    }
    let mut set = ViewSet::default();
    match name {
        "notification_rates" => {
            set.notification_rates = pick(&expired.notification_rates, days, day)
        }
        "notification_bounces" => {
            set.notification_bounces = pick(&expired.notification_bounces, days, day)
        }
        "order_metrics" => set.order_metrics = pick(&expired.order_metrics, days, day),
        "sla_compliance" => set.sla_compliance = pick(&expired.sla_compliance, days, day),
        _ => set.timelines = pick(&expired.timelines, days, day),
    }
    set
}

fn files() -> impl Iterator<Item = &'static ViewFile> {
    VIEW_FILES.iter().filter(|f| WITH_HISTORY.contains(&f.name))
}

/// For each view with history and each day of its rows in `expired` (in view, then day
/// order): the view's name, the day, and that day's rows as one batch.
pub(super) fn day_batches(
    expired: &ViewSet,
    mut each: impl FnMut(&'static str, i64, RecordBatch) -> Result<(), SinkError>,
) -> Result<(), SinkError> {
    for file in files() {
        let days = days_of(file.name, expired);
        let mut distinct: Vec<i64> = days.clone();
        distinct.sort_unstable();
        distinct.dedup();
        for day in distinct {
            let batch = (file.encode)(&of_day(file.name, expired, &days, day))?;
            each(file.name, day, batch)?;
        }
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
    day_batches(expired, |name, day, batch| {
        written += batch.num_rows();
        write_batch(&part_path(root, name, day, part)?, &batch, None)
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
        views.notification_rates.extend(old.notification_rates);
        views.notification_bounces.extend(old.notification_bounces);
        views.order_metrics.extend(old.order_metrics);
        views.sla_compliance.extend(old.sla_compliance);
        views.timelines.extend(old.timelines);
        views.sort();
        views.notification_rates.dedup();
        views.notification_bounces.dedup();
        views.order_metrics.dedup();
        views.sla_compliance.dedup();
        views.timelines.dedup();
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
