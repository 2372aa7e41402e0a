//! The dashboard in headless Chromium (Debian `chromium`): the page loads against a running
//! API (secured with tokens; the page gets its token from `/#token=`), shows the store's
//! numbers in its DOM, logs nothing to the console (no errors, no uncaught exceptions), and
//! leaves a screenshot in `target/browser/dashboard.png`.
//!
//! Runs only with `PULSO_BROWSER_TESTS=1` (set by `scripts/test.sh`, which installs
//! Chromium); otherwise each test prints why it is skipped.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use common::*;
use pulso_events::time::Granularity;
use pulso_queries::{ServeConfig, ViewStore};

const ENABLE: &str = "PULSO_BROWSER_TESTS";

/// The Chromium binary, when these tests are enabled.
fn chromium(test: &str) -> Option<String> {
    if std::env::var_os(ENABLE).is_none() {
        println!("skipping {test}: set {ENABLE}=1 to run the headless Chromium tests");
        return None;
    }
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    match found {
        Some(b) => Some(b.to_string()),
        None => panic!("{ENABLE} is set but no chromium is installed (apt-get install chromium)"),
    }
}

/// A fresh, empty folder under `target/browser/`.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/browser")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.canonicalize().unwrap()
}

/// What one headless run printed: stdout and the browser's stderr log.
struct Run {
    stdout: String,
    stderr: String,
}

/// Runs headless Chromium on `url` with `extra` flags (`--dump-dom`, `--screenshot=…`),
/// logging the page's console to stderr, with virtual time so the page's fetches finish.
fn headless(chromium: &str, profile: &Path, url: &str, extra: &[&str]) -> Run {
    let output = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1400,1600",
            "--virtual-time-budget=8000",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("running chromium");
    assert!(output.status.success(), "chromium failed: {output:?}");
    Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The page's console messages in Chromium's log: every level is logged as
/// `…:CONSOLE…] "message", source: …` (uncaught exceptions as `"Uncaught …"`), so the
/// dashboard, which logs nothing on purpose, must have none. (Chromium does not log an API
/// answer of 4xx/5xx here; the page shows those in its status line, which the test checks.)
fn console_messages(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| {
            l.contains(":CONSOLE")
                || l.contains("Uncaught")
                || l.contains("Failed to load resource")
        })
        .collect()
}

#[test]
fn console_errors_are_detected() {
    let Some(chromium) = chromium("console_errors_are_detected") else {
        return;
    };
    let dir = scratch("console-check");
    let page = |name: &str, script: &str| {
        let path = dir.join(name);
        std::fs::write(
            &path,
            format!("<!doctype html><p id=x>0</p><script>{script}</script>"),
        )
        .unwrap();
        format!("file://{}", path.display())
    };
    let broken = page(
        "broken.html",
        "document.getElementById('x').textContent = notDefined();",
    );
    let run = headless(&chromium, &dir.join("profile"), &broken, &["--dump-dom"]);
    let messages = console_messages(&run.stderr);
    assert!(
        messages
            .iter()
            .any(|m| m.contains("Uncaught ReferenceError")),
        "the broken page's error was not detected: {}",
        run.stderr
    );
    let logging = page("error.html", "console.error('bad thing')");
    let run = headless(&chromium, &dir.join("profile"), &logging, &["--dump-dom"]);
    assert!(console_messages(&run.stderr)
        .iter()
        .any(|m| m.contains("bad thing")));
    let clean = page(
        "clean.html",
        "document.getElementById('x').textContent = '42';",
    );
    let run = headless(&chromium, &dir.join("profile"), &clean, &["--dump-dom"]);
    assert!(console_messages(&run.stderr).is_empty(), "{}", run.stderr);
    assert!(run.stdout.contains("<p id=\"x\">42</p>"), "{}", run.stdout);
}

/// The figures the dashboard derives from the fixture, as it prints them.
struct Expected {
    sent: i64,
    delivered: i64,
    orders_created: i64,
    orders_cancelled: i64,
    met: i64,
    violated: i64,
    breached: i64,
    dlq: i64,
    max_lag: i64,
    /// `(within_sla, delivered)` of the day rows of `notification_latency` on EMAIL.
    email_sla: (i64, i64),
    /// Dead-lettered records of `notification_failures`.
    dead_lettered: i64,
}

fn expected(store: &ViewStore) -> Expected {
    let set = store.snapshot();
    let day = |g: Granularity| g == Granularity::Day;
    let rates = set.notification_rates.iter().filter(|r| day(r.granularity));
    let orders: Vec<_> = set
        .order_metrics
        .iter()
        .filter(|r| day(r.granularity))
        .collect();
    let live = store.live();
    Expected {
        sent: rates.clone().map(|r| r.sent).sum(),
        delivered: rates.map(|r| r.delivered).sum(),
        orders_created: orders.iter().map(|r| r.orders_created).sum(),
        orders_cancelled: orders.iter().map(|r| r.orders_cancelled).sum(),
        met: set.sla_compliance.iter().map(|r| r.met).sum(),
        violated: set.sla_compliance.iter().map(|r| r.violated).sum(),
        breached: set
            .open_case_sla
            .iter()
            .filter(|r| r.status.as_str() == "BREACHED")
            .map(|r| r.cases)
            .sum(),
        dlq: live.dlq_size.expect("the fixture sets the DLQ size"),
        max_lag: live.partitions.iter().map(|p| p.lag).max().unwrap_or(0),
        email_sla: set
            .notification_latency
            .iter()
            .filter(|r| day(r.granularity) && r.channel == "EMAIL")
            .fold((0, 0), |(w, d), r| (w + r.within_sla, d + r.delivered)),
        dead_lettered: set
            .notification_failures
            .iter()
            .map(|r| r.dead_lettered)
            .sum(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_engines_numbers() {
    let Some(chromium) = chromium("the_dashboard_shows_the_engines_numbers") else {
        return;
    };
    let store: Arc<ViewStore> = store();
    let want = expected(&store);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = ServeConfig {
        api: secured_config(),
        ..ServeConfig::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(pulso_queries::serve_on(
        listener,
        Arc::clone(&store),
        config,
        async {
            let _ = stopped.await;
        },
    ));

    let dir = scratch("dashboard");
    let url = format!("http://{addr}/#token={ADMIN}");
    let (dom, shot) = tokio::task::spawn_blocking(move || {
        let profile = dir.join("profile");
        let dom = headless(&chromium, &profile, &url, &["--dump-dom"]);
        let png = dir.join("dashboard.png");
        let shot = headless(
            &chromium,
            &profile,
            &url,
            &[&format!("--screenshot={}", png.display())],
        );
        (dom, (shot, png))
    })
    .await
    .unwrap();

    // The numbers, each in its element.
    let html = &dom.stdout;
    let shows = |id: &str, text: String| {
        let needle = format!("id=\"{id}\">{text}<");
        assert!(html.contains(&needle), "{needle} not in the page:\n{html}");
    };
    shows("funnel-sent", want.sent.to_string());
    shows("funnel-delivered", want.delivered.to_string());
    shows(
        "funnel-delivery-rate",
        format!("{:.1}%", 100.0 * want.delivered as f64 / want.sent as f64),
    );
    shows("orders-created", want.orders_created.to_string());
    shows("orders-cancelled", want.orders_cancelled.to_string());
    shows(
        "sla-compliance",
        format!(
            "{:.1}%",
            100.0 * want.met as f64 / (want.met + want.violated) as f64
        ),
    );
    shows("open-breached", want.breached.to_string());
    shows("pipeline-dlq", want.dlq.to_string());
    shows("pipeline-lag", want.max_lag.to_string());
    // Delivery latency and DLQ causes (the v2 notification views).
    let (within, delivered) = want.email_sla;
    assert!(delivered > 0 && want.dead_lettered > 0);
    shows(
        "latency-sla-EMAIL",
        format!("{:.1}%", 100.0 * within as f64 / delivered as f64),
    );
    shows("dlq-total", want.dead_lettered.to_string());
    // Rates by channel, the most overdue case's clock, the alert rules, the epoch.
    for text in [
        ">email<",
        ">sms<",
        "CRV-2024-00000008",
        "overdue 10d 12h",
        "PulsoDeadLettersHigh",
        ">MAX_RETRIES_EXCEEDED<",
        ">45,000<", // the EMAIL p95 of the latest day
    ] {
        assert!(html.contains(text), "{text} not in the page:\n{html}");
    }
    // The status line: refreshed (not "refresh failed", not asking for a token).
    let status = "<div id=\"status\" class=\"\">epoch 7 · as of 2024-01-20T12:00:00Z";
    assert!(html.contains(status), "{html}");
    assert!(html.contains("<form id=\"login\" style=\"display: none;\">"));

    // No console output at all: no errors, no uncaught exceptions, no failed loads.
    for run in [&dom, &shot.0] {
        let messages = console_messages(&run.stderr);
        assert!(messages.is_empty(), "console messages: {messages:#?}");
    }
    let (_, png) = shot;
    let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
    assert!(size > 10_000, "no screenshot at {}", png.display());
    println!("dashboard screenshot: {}", png.display());

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
