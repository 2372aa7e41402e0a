//! Progress of a long batch pass (`pulso backfill`, `pulso replay`): the dataflows count the
//! records they have processed in a shared counter; a reporter thread shows it as an
//! indicatif bar (rate and ETA) when stderr is a terminal, and as a log line every 5 s
//! otherwise (so logs of a scripted run still show it moving). Also the peak memory of the
//! process, printed at the end of a pass.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// How often the bar is updated from the counter.
const TICK: Duration = Duration::from_millis(250);
/// How often a log line is written when stderr is not a terminal.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// A running progress report over `total` records; stops when finished or dropped.
#[derive(Debug)]
pub struct Progress {
    done: Arc<AtomicU64>,
    /// Dropped to stop the reporter, which wakes at once (not at its next tick).
    stop: Option<Sender<()>>,
    reporter: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts reporting the progress of `what` (e.g. `backfill`) over `total` records.
    pub fn start(what: &'static str, total: u64) -> Progress {
        let done = Arc::new(AtomicU64::new(0));
        let (stop, stopped) = mpsc::channel();
        let counter = Arc::clone(&done);
        let terminal = std::io::stderr().is_terminal();
        let reporter = std::thread::Builder::new()
            .name(format!("pulso-{what}-progress"))
            .spawn(move || match terminal {
                true => draw_bar(what, &counter, total, &stopped),
                false => write_lines(what, &counter, total, &stopped),
            })
            .ok();
        Progress {
            done,
            stop: Some(stop),
            reporter,
        }
    }

    /// The counter the dataflows add processed records to (`ReplayConfig::progress`).
    pub fn counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.done)
    }

    /// Stops the report (the bar is left at its last position).
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.stop.take();
        if let Some(reporter) = self.reporter.take() {
            let _ = reporter.join();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Peak resident set size of this process in bytes (`VmHWM` of `/proc/self/status`), where
/// the platform reports it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Waits a tick; false once the report is stopped (at once, not at the tick's end).
fn tick(stopped: &Receiver<()>) -> bool {
    matches!(stopped.recv_timeout(TICK), Err(RecvTimeoutError::Timeout))
}

/// The terminal bar: `backfill [########>-----------]  42% 420000/1000000 85000 events/s ETA 7s`.
fn draw_bar(what: &str, done: &AtomicU64, total: u64, stopped: &Receiver<()>) {
    let style = ProgressStyle::with_template(
        "{prefix} [{bar:20}] {percent:>3}% {pos}/{len} {rate} events/s ETA {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .with_key(
        "rate",
        |state: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0}", state.per_sec());
        },
    )
    .progress_chars("#>-");
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
        .with_style(style)
        .with_prefix(what.to_string());
    while tick(stopped) {
        bar.set_position(done.load(Ordering::Relaxed).min(total));
    }
    bar.set_position(done.load(Ordering::Relaxed).min(total));
    bar.abandon();
    // The bar's line stays; what is printed next starts on a line of its own.
    eprintln!();
}

/// Log lines for a non-terminal stderr: `backfill: 420000/1000000 records (42.0%), ...`.
fn write_lines(what: &str, done: &AtomicU64, total: u64, stopped: &Receiver<()>) {
    let started = Instant::now();
    let mut last_line = Instant::now();
    while tick(stopped) {
        if last_line.elapsed() < LOG_EVERY {
            continue;
        }
        last_line = Instant::now();
        let n = done.load(Ordering::Relaxed).min(total);
        let rate = n as f64 / started.elapsed().as_secs_f64().max(1e-3);
        let eta = match rate > 0.0 {
            true => format!("{:.0}s", (total - n) as f64 / rate),
            false => "unknown".to_string(),
        };
        let pct = match total {
            0 => 100.0,
            _ => 100.0 * n as f64 / total as f64,
        };
        eprintln!("{what}: {n}/{total} records ({pct:.1}%), {rate:.0} events/s, ETA {eta}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_stops_when_finished_or_dropped() {
        let progress = Progress::start("test", 10);
        progress.counter().fetch_add(10, Ordering::Relaxed);
        let started = Instant::now();
        progress.finish();
        drop(Progress::start("test", 0));
        // The reporter wakes when stopped, not at its next tick.
        assert!(started.elapsed() < TICK);
    }
}
