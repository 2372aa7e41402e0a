//! `pulso run --config` with an `api` section: the live engine's API needs a bearer token on
//! every route but `/`, `/health` and `/openapi.json`, scopes each token to its tenants, and
//! lists the engine's alerts; a bad `api`/`alerts` section, or an open API on a non-loopback
//! address, stops the run before it starts. Needs nothing but the binary.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const ADMIN: &str = "admin-token-0123456789abcdef";
const ACME: &str = "acme-token-0123456789abcdef";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A GET over a plain socket: status and body.
fn get(port: u16, path: &str, token: Option<&str>) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_string();
    Some((status, body))
}

fn json(port: u16, path: &str, token: Option<&str>) -> (u16, Value) {
    let (status, body) = get(port, path, token).unwrap();
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// `pulso run` on the generator with `config` on `http`; its log goes to `OUT/pulso.log`
/// (a file, so a chatty engine never blocks on a full pipe).
fn run(out: &std::path::Path, config: &str, http: &str) -> Child {
    let path = out.join("pulso.json");
    std::fs::write(&path, config).unwrap();
    let log = std::fs::File::create(out.join("pulso.log")).unwrap();
    Command::new(env!("CARGO_BIN_EXE_pulso"))
        .args(["run", "--rate", "20000", "--scale", "20000", "--seed", "3"])
        .args(["--http", http, "--epoch-ms", "50"])
        .arg("--config")
        .arg(&path)
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

struct Stop(Child);

impl Drop for Stop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_live_api_needs_tokens_and_scopes_them() {
    let out = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = format!(
        r#"{{"api": {{"tokens": [
              {{"name": "ops", "token": "{ADMIN}", "tenants": ["*"], "operator": true}},
              {{"token": "{ACME}", "tenants": ["acme"]}}]}},
            "alerts": {{"evaluate_every_secs": 1}}}}"#
    );
    let child = Stop(run(out.path(), &config, &format!("127.0.0.1:{port}")));

    // Wait until the engine has applied an epoch with acme's notifications.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(Instant::now() < deadline, "the live API never served rows");
        if let Some((200, body)) = get(
            port,
            "/v1/views/notification_rates?tenant_id=acme",
            Some(ADMIN),
        ) {
            let body: Value = serde_json::from_str(&body).unwrap();
            if !body["rows"].as_array().unwrap().is_empty() {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }

    for open in ["/health", "/openapi.json", "/"] {
        assert_eq!(get(port, open, None).unwrap().0, 200, "{open}");
    }
    let (status, body) = json(port, "/v1/views/order_metrics", None);
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(
        json(
            port,
            "/v1/views/order_metrics",
            Some("wrong-token-0123456789")
        )
        .0,
        401
    );

    // The acme token: acme's rows only, with or without a tenant filter.
    let (status, all) = json(port, "/v1/views/notification_rates?limit=1000", Some(ADMIN));
    assert_eq!(status, 200);
    let tenants = |v: &Value| -> Vec<String> {
        let mut t: Vec<String> = v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["tenant_id"].as_str().unwrap().to_string())
            .collect();
        t.sort();
        t.dedup();
        t
    };
    assert!(tenants(&all).len() > 1, "{:?}", tenants(&all));
    let (_, acme) = json(port, "/v1/views/notification_rates?limit=1000", Some(ACME));
    assert_eq!(tenants(&acme), vec!["acme"]);
    let other = tenants(&all).into_iter().find(|t| t != "acme").unwrap();
    let (_, foreign) = json(
        port,
        &format!("/v1/views/notification_rates?tenant_id={other}"),
        Some(ACME),
    );
    assert!(foreign["rows"].as_array().unwrap().is_empty());
    // Operator data needs the operator token.
    assert_eq!(json(port, "/v1/pipeline_health", Some(ACME)).0, 403);
    assert_eq!(json(port, "/v1/pipeline_health", Some(ADMIN)).0, 200);
    let (status, alerts) = json(port, "/v1/alerts", Some(ADMIN));
    assert_eq!(status, 200);
    // Every default rule of VIEWS.md's alert table is listed.
    let rules = pulso_queries::AlertsConfig::default().rules.len();
    assert!(rules >= 11, "{rules} default rules");
    assert_eq!(alerts["alerts"].as_array().unwrap().len(), rules);
    assert!(alerts["evaluated_at"].is_string(), "{alerts}");

    // The tokens never appear in the engine's log.
    drop(child);
    let log = std::fs::read_to_string(out.path().join("pulso.log")).unwrap();
    assert!(log.contains("serving the query API"), "{log}");
    assert!(!log.contains(ADMIN) && !log.contains(ACME), "{log}");
}

#[test]
fn bad_api_configs_stop_the_run() {
    let out = tempfile::tempdir().unwrap();
    let port = free_port();
    let cases = [
        // No tokens on a non-loopback address.
        ("{}", format!("0.0.0.0:{port}"), "without authentication"),
        // A weak token.
        (
            r#"{"api": {"tokens": [{"token": "short", "tenants": ["a"]}]}}"#,
            format!("127.0.0.1:{port}"),
            "at least 16",
        ),
        // An unknown field.
        (
            r#"{"api": {"tokenz": []}}"#,
            format!("127.0.0.1:{port}"),
            "unknown field",
        ),
        // A bad alert rule.
        (
            r#"{"alerts": {"evaluate_every_secs": 0}}"#,
            format!("127.0.0.1:{port}"),
            "evaluate_every_secs",
        ),
    ];
    for (config, http, expected) in cases {
        let status = run(out.path(), config, &http).wait().unwrap();
        assert!(!status.success(), "{config} on {http} started");
        let stderr = std::fs::read_to_string(out.path().join("pulso.log")).unwrap();
        assert!(stderr.contains(expected), "{config}: {stderr}");
    }
    // A token-protected API may listen on every interface.
    let config = format!(r#"{{"api": {{"tokens": [{{"token": "{ADMIN}", "tenants": ["*"]}}]}}}}"#);
    let child = Stop(run(out.path(), &config, &format!("0.0.0.0:{port}")));
    let deadline = Instant::now() + Duration::from_secs(60);
    while get(port, "/health", None).is_none() {
        assert!(Instant::now() < deadline, "no API on 0.0.0.0:{port}");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(child);
}
