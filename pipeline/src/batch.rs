//! The shared steps of the batch commands (`replay`, `backfill`, `verify`) and of a live run's
//! start: reading the raw archive with the rejected counts of its progress record,
//! recomputing the views from it, writing a pass's views (Parquet snapshot and history) and
//! rejected records, rendering rejected records for `rejected.jsonl`, and making ClickHouse
//! hold exactly a set of views.

use std::path::Path;

use crate::replay::{replay_source, ArchiveSource, ReplayConfig, TimelineRuns};
use pulso_dataflows::retention::Retention;
use pulso_events::delivery_sla::DeliverySla;
use pulso_events::registry::{View, ViewSelection};
use pulso_events::time::Micros;
use pulso_events::views::{TimelineEntry, ViewSet};
use pulso_events::{RejectReason, Rejection, SourceRecord, Topic};
use pulso_sinks::archive::{read_archive, read_progress, ArchiveRecord};
use pulso_sinks::changes::diff_views;
use pulso_sinks::clickhouse::{ClickHouseConfig, ClickHouseSink};
use pulso_sinks::parquet::{
    clean_temp_files, prepare_views_dir, write_history, write_views_beside, ViewFileWriter,
    HISTORY_DIR,
};
use pulso_sinks::{write_rejected_jsonl, RejectedRecord};

use crate::error::Result;
use crate::joined;
use crate::recovery::restored_rejections;
use crate::replay::ReplayOutput;

/// What the raw archive holds: its accepted records and the rejected counts of its progress
/// record.
#[derive(Clone, Debug, Default)]
pub struct Archive {
    /// The accepted records, in the live run's epochs.
    pub epochs: Vec<Vec<SourceRecord>>,
    /// Records rejected while the archive was written, per (topic, reason).
    pub rejected: Vec<(Topic, RejectReason, u64)>,
}

impl Archive {
    /// The archived records under `root` with event times in `[from, to)`. The rejected
    /// counts of the progress record come with the whole archive only: a time range cannot
    /// place them, so it counts archived records only.
    pub fn read(root: &Path, from: Option<Micros>, to: Option<Micros>) -> Result<Archive> {
        let archived = read_archive(root, from, to)?;
        let rejected = match (from, to) {
            (None, None) => restored_rejections(&read_progress(root)?),
            _ => Vec::new(),
        };
        Ok(Archive {
            epochs: ArchiveRecord::into_epochs(archived),
            rejected,
        })
    }

    /// The accepted records archived.
    pub fn records(&self) -> usize {
        self.epochs.iter().map(Vec::len).sum()
    }

    /// The whole views recomputed from the archive (rows expired by retention included), and
    /// the watermark they end at, open cases graded at `as_of` (default: the greatest event
    /// time).
    pub fn recompute(
        &self,
        workers: usize,
        (retention, sla): (Retention, DeliverySla),
        as_of: Option<i64>,
    ) -> Result<(ViewSet, Option<i64>)> {
        let config = ReplayConfig {
            workers,
            as_of,
            retention,
            sla,
            ..Default::default()
        };
        let mut source = self.clone().into_source();
        let output = replay_source(&mut source, usize::MAX, &config)?;
        Ok((output.views, output.watermark))
    }

    /// The archive as a record source: one poll of `usize::MAX` per archived epoch, the
    /// progress record's rejected counts restored.
    pub fn into_source(self) -> ArchiveSource {
        ArchiveSource::new(self.epochs, self.rejected)
    }
}

/// Writes a batch pass's whole `views` and `timelines` (ending at `watermark`) as Parquet
/// under `out`: the rows `retention` keeps to `out/views/`, the expired ones to
/// `out/history/` as part `part` (`replay`, `backfill`). Only the views of `selection` are
/// written (the files of the others are left as they are). The timeline entries of `views` and
/// those of `timelines` (a replay's sorted runs, [`ReplayConfig::stream_timelines`]) are
/// written as they are merged, without the whole view in memory. Returns the rows written
/// (see [`Written`]).
pub fn write_parquet(
    out: &Path,
    mut views: ViewSet,
    timelines: TimelineRuns,
    watermark: Option<i64>,
    retention: &Retention,
    part: &str,
    selection: &ViewSelection,
) -> Result<Written> {
    let timelines = timelines.with_rows(std::mem::take(&mut views.timelines));
    let (retained, expired) = retention.split(views, watermark);
    let (views_dir, history_dir) = (out.join("views"), out.join(HISTORY_DIR));
    // The timeline entries are merged and written (one thread's work, most of a pass's write)
    // while the other views' files and history are written beside them: the folder's
    // leftover temporary files are removed before, not while the timelines' is written.
    prepare_views_dir(&views_dir)?;
    let expired_timelines = std::thread::scope(|scope| -> Result<_> {
        let merging = selection
            .contains(TimelineEntry::NAME)
            .then(|| scope.spawn(|| write_timelines(&views_dir, timelines, retention, watermark)));
        let others = write_views_beside(&views_dir, &retained, |view| {
            view != TimelineEntry::NAME && selection.contains(view)
        })
        .and_then(|()| write_history(&history_dir, &expired, part));
        let merged = merging.map(joined).transpose()?;
        others?;
        Ok(ViewSet {
            timelines: merged.unwrap_or_default(),
            ..ViewSet::default()
        })
    })?;
    write_history(&history_dir, &expired_timelines, part)?;
    Ok(Written {
        _rows: [retained, expired, expired_timelines],
    })
}

/// The rows [`write_parquet`] wrote, still held. Freeing a pass's million rows takes a good
/// part of a second (timeline entries are several allocations each): a command about to exit
/// ends with [`Written::release_at_exit`] instead of waiting for it; others drop it.
#[must_use = "dropping it frees the rows written; a command about to exit releases them at exit"]
pub struct Written {
    /// The retained rows, the expired ones, and the expired timeline entries (held to be freed).
    _rows: [ViewSet; 3],
}

impl Written {
    /// Leaves the rows unfreed, for a process that exits next: the system takes back its
    /// memory at once, without a free per row.
    pub fn release_at_exit(self) {
        std::mem::forget(self);
    }
}

/// Writes the retained entries of `timelines` to `dir/timelines.parquet` as they are merged;
/// returns the expired ones.
fn write_timelines(
    dir: &Path,
    timelines: TimelineRuns,
    retention: &Retention,
    watermark: Option<i64>,
) -> Result<Vec<TimelineEntry>> {
    let mut writer = ViewFileWriter::<TimelineEntry>::create(dir, None)?;
    let mut expired = Vec::new();
    for entry in timelines.merge() {
        let entry = entry?;
        match watermark {
            Some(w) if retention.has_expired(&entry, w) => expired.push(entry),
            _ => writer.push(entry)?,
        }
    }
    writer.finish()?;
    Ok(expired)
}

/// The files of `pulso replay` under `out`: removes what interrupted writes left, writes the
/// views of `selection` (those the replay computed) as [`write_parquet`] does (part
/// `replay`) and the rejected records to `out/rejected.jsonl`; returns how many records were
/// rejected and the rows written. The output is consumed: its views are not copied.
pub fn write_replay_files(
    out: &Path,
    output: ReplayOutput,
    retention: &Retention,
    selection: &ViewSelection,
) -> Result<(usize, Written)> {
    clean_temp_files(out)?;
    let rejected: Vec<RejectedRecord> = output
        .rejected
        .into_iter()
        .map(|(record, rejection)| rejected_record(record, rejection))
        .collect();
    let (views, timelines) = (output.views, output.timelines);
    let written = write_parquet(
        out,
        views,
        timelines,
        output.watermark,
        retention,
        "replay",
        selection,
    )?;
    write_rejected_jsonl(&out.join("rejected.jsonl"), &rejected)?;
    Ok((rejected.len(), written))
}

/// A rejected record as a line of `rejected.jsonl`.
pub fn rejected_record(record: SourceRecord, rejection: Rejection) -> RejectedRecord {
    RejectedRecord {
        topic: record.topic,
        position: record.position,
        reason: rejection.reason,
        detail: rejection.detail,
        key: record.key,
        value: record.value,
        tombstone: record.tombstone,
    }
}

/// Makes ClickHouse hold exactly `views`: writes the difference from what it holds now, as one
/// epoch above every version already written. Running it again writes nothing.
pub fn write_to_clickhouse(config: ClickHouseConfig, views: &ViewSet) -> Result<usize> {
    let mut sink = ClickHouseSink::connect(config)?;
    let changes = diff_views(&sink.read_views()?, views);
    if !changes.is_empty() {
        let version = sink.max_version()?.map_or(0, |v| v + 1);
        sink.write_epoch(version, &changes)?;
    }
    Ok(changes.len())
}
