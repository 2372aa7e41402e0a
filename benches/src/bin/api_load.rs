//! Load check of the query API on loopback: fills the serving store with the views of a
//! generated stream (realistic row counts: `--records` events through the real dataflows),
//! serves the API with bearer tokens, and sends an open-loop mix of timeline and aggregate
//! queries at a fixed `--rate`, printing p50/p99/max latency per kind of query.
//!
//! Latency is measured from each request's scheduled start (not from when a client got to
//! send it), so a slow server cannot hide queueing (no coordinated omission).
//!
//! Run: `cargo run --release -p pulso-benches --bin api_load -- --records 1000000 --rate 500 --seconds 30`

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use pulso_benches::sample_records;
use pulso_events::time::format_rfc3339;
use pulso_events::views::{ViewRow, ViewSet};
use pulso_pipeline::{replay, ReplayConfig};
use pulso_queries::config::{ApiConfig, RateLimit, Secret, TokenConfig};
use pulso_queries::{ServeConfig, ViewStore};

/// Flags.
#[derive(Debug, Parser)]
struct Args {
    /// Generated events replayed into the views (roughly).
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    /// Requests per second, all clients together.
    #[arg(long, default_value_t = 500.0)]
    rate: f64,
    /// Duration of the measured run.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Client threads (each with a keep-alive connection).
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Generator seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

const ADMIN: &str = "load-admin-token-0123456789";

/// A query of the mix: its kind and its path and query string.
struct Query {
    kind: &'static str,
    path: String,
    tenant_token: Option<String>,
}

/// A tiny xorshift generator: the mix needs no cryptographic randomness.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

fn rows_of(set: ViewSet) -> Vec<ViewRow> {
    set.into_rows().collect()
}

/// The token of each tenant, and the all-tenant operator token.
fn api_config(tenants: &[String]) -> ApiConfig {
    let mut tokens = vec![TokenConfig {
        name: Some("load-admin".into()),
        token: Secret::new(ADMIN),
        tenants: vec!["*".into()],
        operator: true,
    }];
    for t in tenants {
        tokens.push(TokenConfig {
            name: Some(format!("load-{t}")),
            token: Secret::new(format!("load-token-of-{t}-0123456789")),
            tenants: vec![t.clone()],
            operator: false,
        });
    }
    let mut config = ApiConfig {
        tokens,
        ..ApiConfig::default()
    };
    // The load check measures latency, not the rate limiter.
    config.limits.rate_limit = RateLimit {
        per_second: 1e9,
        burst: 1_000_000_000,
    };
    config
}

/// The mix: half timelines of random entities (each tenant's token for its entities), half
/// aggregate views with typical dashboard filters.
fn queries(set: &ViewSet, tenants: &[String], rng: &mut Rng, n: usize) -> Vec<Query> {
    let entities: Vec<(String, String, String)> = set
        .timelines
        .iter()
        .map(|e| {
            let tenant = pulso_queries::store::summary_tenant(&e.summary)
                .map(|t| t.into_owned())
                .unwrap_or_default();
            (e.entity_type.to_string(), e.entity_id.to_string(), tenant)
        })
        .collect();
    let day = 86_400_000_000_i64;
    let last = set
        .order_metrics
        .iter()
        .map(|r| r.window_start)
        .max()
        .unwrap_or(0);
    let token_of = |t: &str| Some(format!("load-token-of-{t}-0123456789"));
    (0..n)
        .map(|i| {
            if i % 2 == 0 {
                let (etype, eid, tenant) = &entities[rng.below(entities.len())];
                return Query {
                    kind: "timeline",
                    path: format!("/v1/timelines/{etype}/{eid}"),
                    tenant_token: token_of(tenant),
                };
            }
            let tenant = &tenants[rng.below(tenants.len())];
            let from = format_rfc3339(last - 7 * day);
            let (kind, path, token) = match rng.below(6) {
                0 => (
                    "notification_rates",
                    format!("/v1/views/notification_rates?granularity=hour&from={from}"),
                    token_of(tenant),
                ),
                1 => (
                    "order_metrics",
                    format!("/v1/views/order_metrics?granularity=day&tenant_id={tenant}"),
                    token_of(tenant),
                ),
                2 => (
                    "inventory_levels",
                    format!("/v1/views/inventory_levels?tenant_id={tenant}&limit=100"),
                    token_of(tenant),
                ),
                3 => (
                    "sla_compliance",
                    "/v1/views/sla_compliance?limit=100".to_string(),
                    None,
                ),
                4 => (
                    "open_cases",
                    "/v1/open_cases?status=BREACHED&limit=50".to_string(),
                    None,
                ),
                _ => (
                    "notification_rates_day",
                    "/v1/views/notification_rates?granularity=day&limit=1000".to_string(),
                    None,
                ),
            };
            Query {
                kind,
                path,
                tenant_token: token,
            }
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let started = Instant::now();
    let records = sample_records(args.records, args.seed);
    let epochs: Vec<Vec<_>> = records.chunks(50_000).map(|c| c.to_vec()).collect();
    let views = replay(epochs, &ReplayConfig::default())?.views;
    let mut tenants: Vec<String> = views
        .notification_rates
        .iter()
        .map(|r| r.tenant_id.clone())
        .chain(views.order_metrics.iter().map(|r| r.tenant_id.clone()))
        .collect();
    tenants.sort();
    tenants.dedup();
    println!(
        "views of {} records built in {:.1} s: notification_rates {}, order_metrics {}, inventory_levels {}, sla_compliance {}, open_cases {}, timelines {}; tenants {tenants:?}",
        records.len(),
        started.elapsed().as_secs_f64(),
        views.notification_rates.len(),
        views.order_metrics.len(),
        views.inventory_levels.len(),
        views.sla_compliance.len(),
        views.open_cases.len(),
        views.timelines.len(),
    );
    let mut rng = Rng(args.seed.max(1) * 0x9E37_79B9_7F4A_7C15);
    let total = (args.rate * args.seconds as f64) as usize;
    let mix = Arc::new(queries(&views, &tenants, &mut rng, total));
    let store = Arc::new(ViewStore::new());
    store.apply_epoch(0, rows_of(views).into_iter().map(|r| (r, 1)).collect());
    drop(records);

    // The API on a loopback port, in its own runtime.
    let runtime = tokio::runtime::Runtime::new()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    let config = ServeConfig {
        api: api_config(&tenants),
        ..ServeConfig::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(pulso_queries::serve_on(listener, store, config, async {
        let _ = stopped.await;
    }));

    println!(
        "sending {total} requests at {} req/s for {} s from {} clients to http://{addr}",
        args.rate, args.seconds, args.clients
    );
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    let begin = Instant::now() + Duration::from_millis(200);
    let clients: Vec<_> = (0..args.clients)
        .map(|c| {
            let mix = Arc::clone(&mix);
            let clients = args.clients;
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(10))
                    .build();
                let mut out: Vec<(&'static str, Duration, bool)> = Vec::new();
                for i in (c..mix.len()).step_by(clients) {
                    let due = begin + interval * i as u32;
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let q = &mix[i];
                    let token = q.tenant_token.as_deref().unwrap_or(ADMIN);
                    let ok = agent
                        .get(&format!("http://{addr}{}", q.path))
                        .set("Authorization", &format!("Bearer {token}"))
                        .call()
                        .map(|r| r.into_string().unwrap_or_default())
                        .is_ok_and(|body| !body.is_empty());
                    out.push((q.kind, due.elapsed(), ok));
                }
                out
            })
        })
        .collect();
    let mut results: Vec<(&'static str, Duration, bool)> = Vec::new();
    for c in clients {
        results.extend(c.join().map_err(|_| "client thread panicked")?);
    }
    let elapsed = begin.elapsed();
    let _ = stop.send(());
    runtime.block_on(server)??;

    let errors = results.iter().filter(|r| !r.2).count();
    println!(
        "{} requests in {:.1} s ({:.0} req/s achieved), {errors} errors",
        results.len(),
        elapsed.as_secs_f64(),
        results.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "{:<24} {:>8} {:>9} {:>9} {:>9}",
        "query", "count", "p50 ms", "p99 ms", "max ms"
    );
    let mut kinds: Vec<&str> = results.iter().map(|r| r.0).collect();
    kinds.sort();
    kinds.dedup();
    let aggregate = |name: &str, filter: &dyn Fn(&str) -> bool| {
        let mut d: Vec<Duration> = results
            .iter()
            .filter(|r| filter(r.0))
            .map(|r| r.1)
            .collect();
        d.sort();
        println!(
            "{name:<24} {:>8} {:>9} {:>9} {:>9}",
            d.len(),
            ms(percentile(&d, 50.0)),
            ms(percentile(&d, 99.0)),
            ms(d.last().copied().unwrap_or_default())
        );
    };
    for kind in &kinds {
        aggregate(kind, &|k| k == *kind);
    }
    aggregate("ALL aggregates", &|k| k != "timeline");
    aggregate("ALL", &|_| true);
    Ok(())
}
