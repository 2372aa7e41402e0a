//! The checks of `pulso verify`: the differences between the views recomputed from the raw
//! archive and what a live run published (ClickHouse, Parquet snapshots, the HTTP API),
//! printed as they are found. An API that answers 429 (rate limited) is retried a bounded
//! number of times, as its `Retry-After` says, then reported.

use std::path::Path;
use std::time::{Duration, Instant};

use pulso_dataflows::retention::Retention;
use pulso_events::delivery_sla::DeliverySla;
use pulso_events::views::{ViewRow, ViewSet};
use pulso_sinks::changes::diff_views;
use pulso_sinks::clickhouse::{ClickHouseConfig, ClickHouseSink};
use pulso_sinks::parquet::read_whole_views;

use crate::batch::Archive;
use crate::error::{PipelineError, Result};

/// Checks the views a live run stored against the archive's recomputation: those of the
/// ClickHouse server `clickhouse` and the Parquet snapshots (and history) of `views`, each
/// recomputed with open cases graded at the target's own `as_of`. Prints every difference
/// and a line per target; returns how many differences in all. `retention` is the live
/// run's (its archive horizons are used).
pub fn verify_stores(
    archive: &Archive,
    clickhouse: Option<ClickHouseConfig>,
    views: Option<&Path>,
    workers: usize,
    (retention, sla): (Retention, DeliverySla),
) -> Result<usize> {
    let mut targets: Vec<(String, ViewSet)> = Vec::new();
    if let Some(config) = clickhouse {
        targets.push((
            format!("clickhouse {}", config.url),
            ClickHouseSink::connect(config)?.read_views()?,
        ));
    }
    if let Some(dir) = views {
        targets.push((format!("parquet {}", dir.display()), read_whole_views(dir)?));
    }
    let mut total = 0;
    for (target, actual) in &targets {
        let retention = retention.for_archive();
        let (expected, _) = archive.recompute(workers, (retention, sla), actual.as_of)?;
        let n = report(target, &expected, actual);
        println!(
            "{target}: {n} differences from the {} archived records",
            archive.records()
        );
        total += n;
    }
    Ok(total)
}

/// Prints the differences of `actual` from `expected`; returns how many there are.
pub fn report(target: &str, expected: &ViewSet, actual: &ViewSet) -> usize {
    let differences = diff_views(actual, expected);
    for (row, diff) in differences.iter().take(50) {
        let what = if *diff > 0 { "missing" } else { "unexpected" };
        println!("{target}: {what} {}", describe(row));
    }
    if differences.len() > 50 {
        println!(
            "{target}: ... and {} more differences",
            differences.len() - 50
        );
    }
    differences.len()
}

/// A view row as JSON (its debug form if it cannot be rendered).
fn describe(row: &ViewRow) -> String {
    serde_json::to_string(row).unwrap_or_else(|_| format!("{row:?}"))
}

/// How `verify` waits out the API's rate limit (HTTP 429): at most `attempts` requests,
/// each pause as the answer's `Retry-After` says, else `first_pause` doubling, and never
/// longer than `max_pause`.
#[derive(Clone, Copy, Debug)]
struct RateLimitRetry {
    attempts: u32,
    first_pause: Duration,
    max_pause: Duration,
}

/// Eight attempts, pauses of at most 30 s: about 1.5 minutes of 429s before giving up.
const API_RETRY: RateLimitRetry = RateLimitRetry {
    attempts: 8,
    first_pause: Duration::from_secs(1),
    max_pause: Duration::from_secs(30),
};

impl RateLimitRetry {
    /// The pause after failed attempt `attempt` (from 0), given the answer's `Retry-After`.
    fn pause(&self, attempt: u32, retry_after: Option<u64>) -> Duration {
        let backoff = self
            .first_pause
            .saturating_mul(1u32.checked_shl(attempt).unwrap_or(u32::MAX));
        retry_after
            .map_or(backoff, Duration::from_secs)
            .min(self.max_pause)
    }

    /// A GET of `url` with the token of `PULSO_API_TOKEN`, if set, retried while the API
    /// answers 429; any other failure, or a 429 that outlasts the attempts, is an error.
    fn get(&self, url: &str) -> Result<String> {
        let started = Instant::now();
        for attempt in 0..self.attempts {
            let mut request = ureq::get(url);
            if let Ok(token) = std::env::var("PULSO_API_TOKEN") {
                request = request.set("Authorization", &format!("Bearer {token}"));
            }
            let response = match request.call() {
                Ok(response) => return Ok(response.into_string()?),
                Err(ureq::Error::Status(429, response)) => response,
                Err(e) => {
                    return Err(PipelineError::Http {
                        url: url.to_string(),
                        source: Box::new(e),
                    })
                }
            };
            if attempt + 1 < self.attempts {
                let retry_after = response
                    .header("Retry-After")
                    .and_then(|s| s.trim().parse::<u64>().ok());
                std::thread::sleep(self.pause(attempt, retry_after));
            }
        }
        Err(PipelineError::RateLimited {
            url: url.to_string(),
            attempts: self.attempts,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}

/// One view's rows as the API serves them, following the cursor, with the `as_of` they reflect.
fn api_rows(api: &str, view: &str) -> Result<(Vec<serde_json::Value>, Option<String>)> {
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    let mut as_of = None;
    loop {
        let mut url = format!("{api}/v1/views/{view}?limit=1000");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let text = API_RETRY.get(&url)?;
        let body: serde_json::Value = serde_json::from_str(&text)?;
        as_of = body["as_of"].as_str().map(str::to_string).or(as_of);
        rows.extend(body["rows"].as_array().cloned().unwrap_or_default());
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return Ok((rows, as_of)),
        }
    }
}

/// Compares every view the API at `api` serves (but `pipeline_health`) with the
/// recomputation from `archive`, graded at the API's `as_of`, and prints the differences;
/// returns how many there are. When the API has tokens, `PULSO_API_TOKEN` holds one.
pub fn verify_api(
    api: &str,
    archive: &Archive,
    workers: usize,
    (retention, sla): (Retention, DeliverySla),
) -> Result<usize> {
    let mut served = Vec::new();
    let mut as_of = None;
    for view in pulso_events::views::VIEW_NAMES
        .iter()
        .filter(|v| **v != "pipeline_health")
    {
        let (rows, view_as_of) = api_rows(api, view)?;
        as_of = as_of.or(view_as_of);
        served.extend(
            rows.into_iter()
                .map(|row| (view.to_string(), row.to_string())),
        );
    }
    let as_of = as_of.as_deref().and_then(pulso_events::time::parse_rfc3339);
    // The API serves the retained rows only.
    let (whole, watermark) = archive.recompute(workers, (retention, sla), as_of)?;
    let (expected, _) = retention.split(whole, watermark);
    let mut wanted: Vec<(String, String)> = pulso_sinks::changes::view_rows(&expected)
        .filter_map(|row| pulso_queries::api::render::row_json(&row))
        .filter(|(view, _)| *view != "pipeline_health")
        .map(|(view, json)| (view.to_string(), json.to_string()))
        .collect();
    wanted.sort();
    served.sort();
    let missing: Vec<_> = wanted
        .iter()
        .filter(|r| served.binary_search(r).is_err())
        .collect();
    let unexpected: Vec<_> = served
        .iter()
        .filter(|r| wanted.binary_search(r).is_err())
        .collect();
    for (view, row) in missing.iter().take(25) {
        println!("api {api}: missing {view} {row}");
    }
    for (view, row) in unexpected.iter().take(25) {
        println!("api {api}: unexpected {view} {row}");
    }
    let n = missing.len() + unexpected.len();
    println!(
        "api {api}: {n} differences from the {} archived records",
        archive.records()
    );
    Ok(n)
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    use super::*;

    /// A server answering `statuses` in turn, one request per connection; returns its URL.
    fn serve(statuses: Vec<u16>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for status in statuses {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap() > 2 {
                    line.clear();
                }
                let body = if status == 200 { "ok" } else { "" };
                let answer = format!(
                    "HTTP/1.1 {status} X\r\nRetry-After: 0\r\nConnection: close\r\n\
                     Content-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                reader.get_mut().write_all(answer.as_bytes()).unwrap();
            }
        });
        url
    }

    const FAST: RateLimitRetry = RateLimitRetry {
        attempts: 3,
        first_pause: Duration::from_millis(1),
        max_pause: Duration::from_millis(5),
    };

    #[test]
    fn rate_limits_are_waited_out() {
        let url = serve(vec![429, 429, 200]);
        assert_eq!(FAST.get(&url).unwrap(), "ok");
    }

    #[test]
    fn a_rate_limit_that_stays_is_an_error() {
        let url = serve(vec![429, 429, 429, 200]);
        let error = FAST.get(&url).unwrap_err().to_string();
        assert!(error.contains("429"), "{error}");
        assert!(error.contains("after 3 attempts"), "{error}");
    }

    #[test]
    fn pauses_follow_retry_after_and_double_up_to_the_cap() {
        let pauses: Vec<u64> = (0..7).map(|a| API_RETRY.pause(a, None).as_secs()).collect();
        assert_eq!(pauses, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(API_RETRY.pause(0, Some(3)), Duration::from_secs(3));
        assert_eq!(API_RETRY.pause(0, Some(3600)), Duration::from_secs(30));
        assert_eq!(API_RETRY.pause(40, None), Duration::from_secs(30));
    }
}
