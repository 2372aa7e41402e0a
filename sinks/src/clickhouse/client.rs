//! The sink's connection to ClickHouse, on the official `clickhouse` crate (hyper over
//! tokio): statements and reads go through `Client::query_raw` (always POST: 18.x treats GET as
//! read-only), inserts through `Client::insert_formatted_with` with the RowBinary rows of
//! [`super::rowbinary`] as the body. The sink's API is synchronous (it runs on the engine's
//! writer thread), so the client owns a current-thread tokio runtime and blocks on each
//! request. Failures are classified into [`ClickHouseError`]s.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use clickhouse::error::Error as CrateError;
use tokio::runtime::Runtime;

use super::error::{parse_error_code, ClickHouseError};

/// Longest error body kept in an error message.
const MAX_ERROR_BODY: usize = 2_000;

/// A connection pool to one ClickHouse server, and the runtime its requests run on.
pub(crate) struct Client {
    client: clickhouse::Client,
    runtime: Runtime,
    url: String,
    timeout: Duration,
}

impl Client {
    /// A client of the server at `url`, authenticating as `user` when set (the crate sends
    /// the credentials as `X-ClickHouse-User` / `X-ClickHouse-Key`), giving up on one request
    /// after `timeout` (connecting: at most 10 s of it).
    pub(crate) fn new(
        url: &str,
        user: Option<&str>,
        password: Option<&str>,
        timeout: Duration,
    ) -> Result<Self, ClickHouseError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ClickHouseError::Config(format!("starting the client runtime: {e}")))?;
        // Schema validation needs `RowBinaryWithNamesAndTypes`, which 18.16 lacks; the sink
        // checks its tables itself (`DESCRIBE TABLE`).
        let mut client = http_client(timeout).with_url(url).with_validation(false);
        if let Some(user) = user {
            client = client
                .with_user(user)
                .with_password(password.unwrap_or_default());
        }
        Ok(Client {
            client,
            runtime,
            url: url.to_owned(),
            timeout,
        })
    }

    /// Runs `sql` and returns the answer's body (empty for statements without a result).
    pub(crate) fn query(&self, sql: &str) -> Result<Vec<u8>, ClickHouseError> {
        // Raw: the SQL goes as it is (no client-side `?` parameters).
        let query = self.client.query_raw(sql);
        self.run(async move {
            // The statement's own `FORMAT` clause, when it has one, takes precedence.
            let mut cursor = query.fetch_bytes("TabSeparated")?;
            cursor.collect().await.map(|bytes| bytes.to_vec())
        })
    }

    /// Runs the statement `sql` (an `INSERT ... FORMAT RowBinary`) with `data` as its rows.
    pub(crate) fn insert(&self, sql: &str, data: Bytes) -> Result<(), ClickHouseError> {
        let mut insert = self.client.insert_formatted_with(sql);
        self.run(async move {
            insert.send(data).await?;
            insert.end().await
        })
    }

    /// Runs `request` to completion on the client's runtime, within the request timeout.
    fn run<T>(
        &self,
        request: impl Future<Output = Result<T, CrateError>>,
    ) -> Result<T, ClickHouseError> {
        let answer = self
            .runtime
            .block_on(async { tokio::time::timeout(self.timeout, request).await });
        match answer {
            Ok(result) => result.map_err(|e| self.classify(e)),
            Err(_) => Err(self.transport(
                format!("no answer within {} ms", self.timeout.as_millis()),
                true,
            )),
        }
    }

    /// The sink's error for an error of the crate.
    fn classify(&self, error: CrateError) -> ClickHouseError {
        match error {
            CrateError::BadResponse(body) => server_error(body),
            // An unusable URL, or https without the `tls` feature: retrying cannot help.
            CrateError::InvalidParams(_) | CrateError::Unsupported(_) => {
                self.transport(error.to_string(), false)
            }
            // Refused, reset or cut connections, timeouts, truncated answers.
            other => self.transport(other.to_string(), true),
        }
    }

    fn transport(&self, message: String, retryable: bool) -> ClickHouseError {
        ClickHouseError::Transport {
            url: self.url.clone(),
            message,
            retryable,
        }
    }
}

/// The crate's client over a hyper connection pool that bounds connecting, keeps TCP
/// connections alive and drops idle ones before the server does.
#[cfg(not(feature = "tls"))]
fn http_client(timeout: Duration) -> clickhouse::Client {
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::rt::{TokioExecutor, TokioTimer};

    /// Longest time connecting may take (and never more than the request's timeout).
    const MAX_CONNECT: Duration = Duration::from_secs(10);
    /// How long an idle pooled connection is kept (ClickHouse closes them after 3 s).
    const POOL_IDLE: Duration = Duration::from_secs(2);

    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(timeout.min(MAX_CONNECT)));
    connector.set_keepalive(Some(Duration::from_secs(60)));
    let pool = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE)
        .pool_timer(TokioTimer::new())
        .build(connector);
    clickhouse::Client::with_http_client(pool)
}

/// The crate's own client, with TLS (connecting is then bounded by the request timeout).
#[cfg(feature = "tls")]
fn http_client(_timeout: Duration) -> clickhouse::Client {
    clickhouse::Client::default()
}

/// A failed answer: the ClickHouse code of its body (`Code: N`), and its HTTP status when the
/// crate reports it (only for an empty body, as `"503 Service Unavailable"`; otherwise
/// [`ClickHouseError::UNKNOWN_STATUS`]).
fn server_error(mut body: String) -> ClickHouseError {
    let code = parse_error_code(&body);
    let status = body
        .get(..3)
        .filter(|_| body.len() == 3 || body.as_bytes()[3] == b' ')
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..600).contains(s))
        .unwrap_or(ClickHouseError::UNKNOWN_STATUS);
    if body.len() > MAX_ERROR_BODY {
        let mut end = MAX_ERROR_BODY;
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        body.truncate(end);
    }
    ClickHouseError::Server {
        status,
        code,
        message: body.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_answers_keep_their_code_and_reported_status() {
        let error = server_error("Code: 60, e.displayText() = DB::Exception: no table".into());
        assert!(matches!(
            error,
            ClickHouseError::Server {
                status: ClickHouseError::UNKNOWN_STATUS,
                code: Some(60),
                ..
            }
        ));
        assert!(error.is_permanent());
        let error = server_error("503 Service Unavailable".into());
        assert!(matches!(
            error,
            ClickHouseError::Server {
                status: 503,
                code: None,
                ..
            }
        ));
        assert!(error.is_retryable());
        let error = server_error("401 Unauthorized".into());
        assert!(error.is_permanent());
        let long = server_error("x".repeat(5_000));
        let ClickHouseError::Server { message, .. } = long else {
            unreachable!()
        };
        assert_eq!(message.len(), MAX_ERROR_BODY);
    }
}
