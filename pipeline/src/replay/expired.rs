//! The expired view rows a replay collects, kept out of memory until the replay ends.
//!
//! A windowed row whose window has expired (VIEWS.md, "Retention") no longer changes: the
//! dataflow forgets the window and does not apply changes that reach it afterwards. So when a
//! worker's buffer of a view's changes fills and is consolidated, the rows it holds once and
//! that have expired at the watermark of the last epoch the worker completed are written, as
//! one sorted run, to the worker's anonymous spill file; they are read back when the replay
//! ends, as the whole view's expired part. Without this a replay held every row of every
//! window it had seen until its end: memory that grew with the length of the input rather
//! than with the retained state (benches/RESULTS.md, "Expired rows out of memory").
//!
//! A run is the bincode encoding of a vector of rows. The file is deleted by the system when
//! the replay drops it.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use pulso_dataflows::retention::Retention;
use pulso_events::registry::View;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::spill::anonymous_file;
use crate::error::DataflowError;

/// The runs of one view's expired rows that a worker wrote: `(offset, length)` in its file.
pub(super) type Runs = Vec<(u64, u64)>;

/// One worker's spill file of expired rows.
pub(super) struct ExpiredSpill {
    /// The folder of the file; `None`: the system's temporary folder.
    dir: Option<PathBuf>,
    retention: Retention,
    /// `W(e)` of the last epoch the worker completed: rows expired at it may leave.
    watermark: Option<i64>,
    file: Option<File>,
    written: u64,
    /// The first write that failed: the replay then fails, and no more rows leave.
    error: Option<io::Error>,
}

impl ExpiredSpill {
    /// No rows written yet; the file, when one is needed, is made in `dir`.
    pub(super) fn new(dir: Option<PathBuf>, retention: Retention) -> Self {
        ExpiredSpill {
            dir,
            retention,
            watermark: None,
            file: None,
            written: 0,
            error: None,
        }
    }

    /// The worker has completed the epoch whose watermark is `watermark`: every change of a
    /// row expired at it has arrived.
    pub(super) fn advance(&mut self, watermark: Option<i64>) {
        self.watermark = self.watermark.max(watermark);
    }

    /// Moves the rows of `changes` (consolidated: sorted, each row once) that are present
    /// (a change of 1) and have expired to the file, as one run appended to `runs`.
    pub(super) fn take<V: View + Serialize>(
        &mut self,
        changes: &mut Vec<(V, isize)>,
        runs: &mut Runs,
    ) {
        let Some(w) = self.watermark.filter(|_| V::EXPIRES) else {
            return;
        };
        if self.error.is_some() {
            return;
        }
        let retention = self.retention;
        let expired: Vec<V> = changes
            .extract_if(.., |(row, diff)| {
                *diff == 1 && retention.has_expired(row, w)
            })
            .map(|(row, _)| row)
            .collect();
        if expired.is_empty() {
            return;
        }
        if let Err(e) = self.write(&expired, runs) {
            self.error = Some(e);
        }
    }

    fn write<V: Serialize>(&mut self, rows: &[V], runs: &mut Runs) -> io::Result<()> {
        let bytes = bincode::serialize(rows).map_err(io::Error::other)?;
        let file = match &mut self.file {
            Some(file) => file,
            None => self.file.insert(anonymous_file(self.dir.as_deref())?),
        };
        file.write_all_at(&bytes, self.written)?;
        runs.push((self.written, bytes.len() as u64));
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// The first write error, if any (then rows were lost and the replay must fail).
    pub(super) fn failure(&mut self) -> Option<DataflowError> {
        self.error.take().map(DataflowError::Spill)
    }

    /// Appends the rows of `runs` to `into` (each run sorted; the runs are not merged).
    pub(super) fn read<V: DeserializeOwned>(
        &self,
        runs: &Runs,
        into: &mut Vec<V>,
    ) -> Result<(), DataflowError> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let mut bytes = Vec::new();
        for &(offset, len) in runs {
            bytes.resize(len as usize, 0);
            file.read_exact_at(&mut bytes, offset)
                .map_err(DataflowError::Spill)?;
            let rows: Vec<V> = bincode::deserialize(&bytes)
                .map_err(|e| DataflowError::Spill(io::Error::other(e)))?;
            into.extend(rows);
        }
        Ok(())
    }
}

/// `rows` (sorted, each once) with `expired` added, sorted; an error names a row in both.
pub(super) fn with_expired<T: Ord>(
    mut rows: Vec<T>,
    expired: Vec<T>,
) -> Result<Vec<T>, (T, isize)> {
    if expired.is_empty() {
        return Ok(rows);
    }
    rows.extend(expired);
    rows.sort_unstable();
    match rows.windows(2).position(|pair| pair[0] == pair[1]) {
        Some(twice) => Err((rows.swap_remove(twice), 2)),
        None => Ok(rows),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulso_dataflows::retention::{Horizon, WindowHorizons};
    use pulso_events::time::{Granularity, MICROS_PER_DAY};
    use pulso_events::views::{CaseBacklog, OrderMetrics};

    /// A day row of `order_metrics` for the day starting at `day` days.
    fn metrics(tenant: &str, day: i64) -> OrderMetrics {
        OrderMetrics {
            tenant_id: tenant.into(),
            currency: "USD".into(),
            granularity: Granularity::Day,
            window_start: day * MICROS_PER_DAY,
            orders_created: 1,
            orders_confirmed: 0,
            orders_cancelled: 0,
            orders_pending: 1,
            revenue_confirmed_total: 0,
            revenue_lost_total: 0,
            revenue_pending_total: 250,
        }
    }

    /// Day windows kept two days past their end.
    fn retention() -> Retention {
        let defaults = Retention::default();
        Retention {
            late_after: Horizon::days(1),
            windows: WindowHorizons {
                day: Horizon::days(2),
                ..defaults.windows
            },
            ..defaults
        }
    }

    #[test]
    fn expired_rows_present_once_leave_in_sorted_runs_and_come_back() {
        let mut spill = ExpiredSpill::new(None, retention());
        let mut runs = Runs::new();
        let mut changes = vec![
            (metrics("acme", 0), 1),
            (metrics("acme", 5), 1),
            (metrics("globex", 0), -1),
            (metrics("globex", 1), 1),
        ];
        spill.take(&mut changes, &mut runs);
        assert_eq!(changes.len(), 4, "no watermark yet: nothing has expired");

        // At day 4, the windows of days 0 and 1 (ending at 1 and 2) are past their 2 days.
        spill.advance(Some(4 * MICROS_PER_DAY));
        spill.take(&mut changes, &mut runs);
        assert_eq!(
            changes,
            vec![(metrics("acme", 5), 1), (metrics("globex", 0), -1)],
            "a retraction stays for the multiplicity check at the end"
        );
        let mut later = vec![(metrics("acme", 2), 1)];
        spill.advance(Some(5 * MICROS_PER_DAY));
        spill.take(&mut later, &mut runs);
        assert!(later.is_empty());
        assert_eq!(runs.len(), 2);

        let mut rows: Vec<OrderMetrics> = Vec::new();
        spill.read(&runs, &mut rows).unwrap();
        assert_eq!(
            rows,
            vec![metrics("acme", 0), metrics("globex", 1), metrics("acme", 2)]
        );
        assert!(spill.failure().is_none());
    }

    #[test]
    fn rows_of_views_that_do_not_expire_stay() {
        let mut spill = ExpiredSpill::new(None, retention());
        spill.advance(Some(100 * MICROS_PER_DAY));
        let backlog = CaseBacklog {
            dependencia_id: 1,
            estado: "ABIERTO".into(),
            cases: 2,
        };
        let mut changes = vec![(backlog, 1)];
        let mut runs = Runs::new();
        spill.take(&mut changes, &mut runs);
        assert_eq!(changes.len(), 1);
        assert!(runs.is_empty());
    }

    #[test]
    fn expired_rows_join_the_retained_ones_in_order_and_once() {
        assert_eq!(with_expired(vec![2, 5], vec![4, 1]), Ok(vec![1, 2, 4, 5]));
        assert_eq!(with_expired(vec![2, 5], vec![]), Ok(vec![2, 5]));
        assert_eq!(with_expired(vec![2, 5], vec![5]), Err((5, 2)));
    }
}
