//! The `api` section of `pulso run --config`: bearer tokens scoped to tenants, request limits,
//! and the tenant the Conecta360 views belong to. Every field has a default, so `{}` (or no
//! section at all) is the open, loopback-only API of the embedded run.
//!
//! ```json
//! {"api": {
//!   "tokens": [
//!     {"name": "acme-dashboard", "token": "…32+ random characters…", "tenants": ["acme"]},
//!     {"name": "on-call", "token": "…", "tenants": ["*"], "operator": true}
//!   ],
//!   "limits": {"max_body_bytes": 16384, "max_uri_bytes": 8192, "request_timeout_ms": 10000,
//!              "rate_limit": {"per_second": 50, "burst": 100}, "max_connections": 128,
//!              "header_read_timeout_ms": 10000, "shutdown_timeout_ms": 5000}
//! }}
//! ```

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use pulso_events::decode::DEFAULT_CONECTA360_TENANT;
use serde::Deserialize;

/// The tenant pattern that grants every tenant.
pub const ALL_TENANTS: &str = "*";

/// Shortest accepted token: 16 characters (use 32+ random ones).
pub const MIN_TOKEN_CHARS: usize = 16;

/// A configuration the API refuses to start with.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// A token is shorter than [`MIN_TOKEN_CHARS`] or not printable ASCII.
    #[error("api.tokens[{index}]: a token must be at least {MIN_TOKEN_CHARS} printable ASCII characters without spaces")]
    WeakToken {
        /// Position in `api.tokens`.
        index: usize,
    },
    /// The same token is configured twice.
    #[error("api.tokens[{index}]: the same token is configured twice")]
    DuplicateToken {
        /// Position in `api.tokens` of the second occurrence.
        index: usize,
    },
    /// A token grants no tenant, or mixes `"*"` with named tenants, or names an empty one.
    #[error("api.tokens[{index}].tenants: give `[\"*\"]` or one or more tenant ids")]
    BadTenants {
        /// Position in `api.tokens`.
        index: usize,
    },
    /// A limit is zero (or not a finite positive rate).
    #[error("api.limits.{0} must be greater than zero")]
    ZeroLimit(&'static str),
    /// No token is configured and the address is not loopback.
    #[error(
        "the API would serve {0} without authentication: configure api.tokens, bind a loopback \
         address (--http 127.0.0.1:PORT), or set api.allow_unauthenticated"
    )]
    OpenOnNetwork(SocketAddr),
    /// An alert rule or the webhook is invalid.
    #[error("alerts: {0}")]
    Alerts(String),
}

/// A bearer token: never printed (its `Debug` shows `***`).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Secret {
        Secret(token.into())
    }

    /// The token's bytes, for the constant-time comparison.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// One bearer token and what it may read.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// A label for logs (never the token); default `token-<index>`.
    #[serde(default)]
    pub name: Option<String>,
    /// The token clients send as `Authorization: Bearer <token>`.
    pub token: Secret,
    /// The tenants whose rows it reads: tenant ids, or `["*"]` for every tenant. The
    /// Conecta360 views (cases, SLA, open cases) belong to [`ApiConfig::conecta360_tenant`].
    pub tenants: Vec<String>,
    /// Whether it reads operator data: `/metrics`, `/v1/pipeline_health`, `/v1/alerts`.
    #[serde(default)]
    pub operator: bool,
}

/// The per-token rate limit: a token bucket of `burst` requests refilled at `per_second`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub per_second: f64,
    /// Requests allowed at once.
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            per_second: 50.0,
            burst: 100,
        }
    }
}

/// Request limits.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body (413 above).
    pub max_body_bytes: usize,
    /// Longest request target, path and query (414 above).
    pub max_uri_bytes: usize,
    /// Time a request may take (503 `timeout` after).
    pub request_timeout_ms: u64,
    /// Per-token rate limit (429 with `Retry-After` beyond).
    pub rate_limit: RateLimit,
    /// Most connections served at once; further ones wait to be accepted. Keep it well below
    /// the process's file-descriptor limit (`ulimit -n`).
    pub max_connections: usize,
    /// Time a connection may take to deliver a request head, or stay idle between requests,
    /// before it is closed (slow or idle clients).
    pub header_read_timeout_ms: u64,
    /// Time open connections get to finish once the server is asked to stop; the rest are
    /// dropped.
    pub shutdown_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 * 1024,
            max_uri_bytes: 8 * 1024,
            request_timeout_ms: 10_000,
            rate_limit: RateLimit::default(),
            max_connections: 128,
            header_read_timeout_ms: 10_000,
            shutdown_timeout_ms: 5_000,
        }
    }
}

impl Limits {
    /// The request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

/// The `api` section of the config file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Bearer tokens. None: the API is open (every tenant, operator data) and may only be
    /// bound to a loopback address unless `allow_unauthenticated` is set.
    pub tokens: Vec<TokenConfig>,
    /// Request limits.
    pub limits: Limits,
    /// The tenant of the Conecta360 views (`case_backlog`, `sla_compliance`,
    /// `open_case_sla`, open cases), which have no `tenant_id` column.
    pub conecta360_tenant: String,
    /// Serve without tokens on a non-loopback address (behind your own authenticating proxy).
    pub allow_unauthenticated: bool,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            tokens: Vec::new(),
            limits: Limits::default(),
            conecta360_tenant: DEFAULT_CONECTA360_TENANT.to_string(),
            allow_unauthenticated: false,
        }
    }
}

impl ApiConfig {
    /// Whether requests need a token.
    pub fn requires_tokens(&self) -> bool {
        !self.tokens.is_empty()
    }

    /// Checks tokens and limits.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (index, t) in self.tokens.iter().enumerate() {
            let text = &t.token.0;
            if text.chars().count() < MIN_TOKEN_CHARS || !text.bytes().all(|b| b.is_ascii_graphic())
            {
                return Err(ConfigError::WeakToken { index });
            }
            if self.tokens[..index].iter().any(|o| o.token == t.token) {
                return Err(ConfigError::DuplicateToken { index });
            }
            let all = t.tenants.iter().any(|x| x == ALL_TENANTS);
            if t.tenants.is_empty()
                || (all && t.tenants.len() > 1)
                || t.tenants.iter().any(String::is_empty)
            {
                return Err(ConfigError::BadTenants { index });
            }
        }
        let l = &self.limits;
        for (name, zero) in [
            ("max_body_bytes", l.max_body_bytes == 0),
            ("max_uri_bytes", l.max_uri_bytes == 0),
            ("request_timeout_ms", l.request_timeout_ms == 0),
            ("rate_limit.burst", l.rate_limit.burst == 0),
            ("max_connections", l.max_connections == 0),
            ("header_read_timeout_ms", l.header_read_timeout_ms == 0),
            (
                "rate_limit.per_second",
                !(l.rate_limit.per_second.is_finite() && l.rate_limit.per_second > 0.0),
            ),
        ] {
            if zero {
                return Err(ConfigError::ZeroLimit(name));
            }
        }
        Ok(())
    }

    /// Checks that the API may listen on `addr`: without tokens only on loopback (unless
    /// `allow_unauthenticated`).
    pub fn check_bind(&self, addr: SocketAddr) -> Result<(), ConfigError> {
        if self.requires_tokens() || addr.ip().is_loopback() || self.allow_unauthenticated {
            Ok(())
        } else {
            Err(ConfigError::OpenOnNetwork(addr))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(text: &str, tenants: &[&str]) -> TokenConfig {
        TokenConfig {
            name: None,
            token: Secret::new(text),
            tenants: tenants.iter().map(|t| t.to_string()).collect(),
            operator: false,
        }
    }

    #[test]
    fn parses_with_defaults_and_rejects_unknown_fields() {
        let c: ApiConfig = serde_json::from_str("{}").unwrap();
        assert!(!c.requires_tokens());
        assert_eq!(c.conecta360_tenant, "conecta360");
        assert_eq!(c.limits, Limits::default());
        let c: ApiConfig = serde_json::from_str(
            r#"{"tokens": [{"token": "0123456789abcdef", "tenants": ["acme"]}],
                "limits": {"rate_limit": {"per_second": 2}}}"#,
        )
        .unwrap();
        assert_eq!(c.tokens[0].tenants, vec!["acme"]);
        assert_eq!(c.limits.rate_limit.per_second, 2.0);
        assert_eq!(c.limits.rate_limit.burst, 100);
        assert!(c.validate().is_ok());
        assert!(serde_json::from_str::<ApiConfig>(r#"{"tokenz": []}"#).is_err());
        assert!(serde_json::from_str::<ApiConfig>(
            r#"{"tokens": [{"token": "0123456789abcdef", "tenants": ["a"], "admin": true}]}"#
        )
        .is_err());
    }

    #[test]
    fn tokens_are_never_printed() {
        let c = ApiConfig {
            tokens: vec![token("super-secret-token-value", &["*"])],
            ..ApiConfig::default()
        };
        let printed = format!("{c:?}");
        assert!(!printed.contains("super-secret"), "{printed}");
        assert!(printed.contains("***"));
    }

    #[test]
    fn validation() {
        let with = |tokens| ApiConfig {
            tokens,
            ..ApiConfig::default()
        };
        assert_eq!(
            with(vec![token("short", &["a"])]).validate(),
            Err(ConfigError::WeakToken { index: 0 })
        );
        assert_eq!(
            with(vec![token("0123456789abcdef 0", &["a"])]).validate(),
            Err(ConfigError::WeakToken { index: 0 })
        );
        let ok = "0123456789abcdef";
        assert_eq!(
            with(vec![token(ok, &["a"]), token(ok, &["b"])]).validate(),
            Err(ConfigError::DuplicateToken { index: 1 })
        );
        for tenants in [&[][..], &["*", "a"], &[""]] {
            assert_eq!(
                with(vec![token(ok, tenants)]).validate(),
                Err(ConfigError::BadTenants { index: 0 })
            );
        }
        let mut zero = ApiConfig::default();
        zero.limits.rate_limit.per_second = 0.0;
        assert_eq!(
            zero.validate(),
            Err(ConfigError::ZeroLimit("rate_limit.per_second"))
        );
    }

    #[test]
    fn open_api_only_on_loopback() {
        let open = ApiConfig::default();
        assert!(open.check_bind("127.0.0.1:8080".parse().unwrap()).is_ok());
        assert!(open.check_bind("[::1]:8080".parse().unwrap()).is_ok());
        let public: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(
            open.check_bind(public),
            Err(ConfigError::OpenOnNetwork(public))
        );
        let allowed = ApiConfig {
            allow_unauthenticated: true,
            ..ApiConfig::default()
        };
        assert!(allowed.check_bind(public).is_ok());
        let secured = ApiConfig {
            tokens: vec![token("0123456789abcdef", &["a"])],
            ..ApiConfig::default()
        };
        assert!(secured.check_bind(public).is_ok());
    }
}
