//! The HTTP interface of ClickHouse: every statement is a POST (18.x treats GET as
//! read-only), with the SQL in the body, or for inserts in the `query` parameter and the
//! RowBinary rows in the body. Answers are classified into [`ClickHouseError`]s.

use std::io::Read;
use std::time::Duration;

use base64::prelude::{Engine as _, BASE64_STANDARD};

use super::error::{parse_error_code, ClickHouseError};

/// Longest error body kept in an error message.
const MAX_ERROR_BODY: usize = 2_000;

/// A connection pool to one ClickHouse server.
pub(crate) struct Http {
    agent: ureq::Agent,
    url: String,
    authorization: Option<String>,
}

impl Http {
    /// A client of the server at `url`, authenticating with HTTP basic auth when `user` is
    /// set, giving up on one request after `timeout`.
    pub(crate) fn new(
        url: &str,
        user: Option<&str>,
        password: Option<&str>,
        timeout: Duration,
    ) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(timeout.min(Duration::from_secs(10)))
            .timeout(timeout)
            .build();
        let authorization = user.map(|u| {
            let secret = format!("{u}:{}", password.unwrap_or_default());
            format!("Basic {}", BASE64_STANDARD.encode(secret))
        });
        Http {
            agent,
            url: url.trim_end_matches('/').to_owned() + "/",
            authorization,
        }
    }

    /// Runs `sql` (sent as the body) and returns the answer's body.
    pub(crate) fn query(&self, sql: &str) -> Result<Vec<u8>, ClickHouseError> {
        self.send(None, sql.as_bytes())
    }

    /// Runs the statement `sql` (an `INSERT ... FORMAT RowBinary`) with `data` as its rows.
    pub(crate) fn insert(&self, sql: &str, data: &[u8]) -> Result<(), ClickHouseError> {
        self.send(Some(sql), data).map(drop)
    }

    fn send(&self, query: Option<&str>, body: &[u8]) -> Result<Vec<u8>, ClickHouseError> {
        let mut request = self.agent.post(&self.url);
        if let Some(q) = query {
            request = request.query("query", q);
        }
        if let Some(auth) = &self.authorization {
            request = request.set("Authorization", auth);
        }
        match request.send_bytes(body) {
            Ok(response) => {
                let mut out = Vec::new();
                response
                    .into_reader()
                    .read_to_end(&mut out)
                    .map_err(|e| self.transport(format!("reading the answer: {e}"), true))?;
                Ok(out)
            }
            Err(ureq::Error::Status(status, response)) => {
                let mut text = response.into_string().unwrap_or_default();
                let code = parse_error_code(&text);
                if text.len() > MAX_ERROR_BODY {
                    let mut end = MAX_ERROR_BODY;
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    text.truncate(end);
                }
                Err(ClickHouseError::Server {
                    status,
                    code,
                    message: text.trim().to_owned(),
                })
            }
            Err(ureq::Error::Transport(t)) => {
                use ureq::ErrorKind::*;
                let retryable = !matches!(
                    t.kind(),
                    InvalidUrl | UnknownScheme | InvalidProxyUrl | InsecureRequestHttpsOnly
                );
                Err(self.transport(t.to_string(), retryable))
            }
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
