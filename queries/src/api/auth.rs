//! Bearer-token authentication: each configured token is a [`Principal`] with a set of
//! tenants and an operator flag. The presented token is compared with every configured one in
//! constant time (no early exit, and no hint of which one matched); tokens are never logged.
//! Without configured tokens the API is open: every request acts as the all-tenant operator.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::{ConditionallySelectable, ConstantTimeEq};

use super::limits::whole_seconds;
use super::{ApiError, AppState};
use crate::config::{ApiConfig, Secret, ALL_TENANTS};
use crate::store::Tenants;

/// Who a request acts as.
#[derive(Clone, Debug)]
pub struct Principal {
    /// Index of the token in `api.tokens` (its rate-limit bucket).
    pub id: usize,
    /// The token's label (never the token itself).
    pub name: String,
    /// The tenants whose rows it reads.
    pub tenants: Tenants,
    /// Whether it reads operator data (`/metrics`, pipeline health, alerts).
    pub operator: bool,
    /// Whether it is a configured token (else the open API's anonymous principal, which is
    /// not rate limited).
    pub token: bool,
}

impl Principal {
    /// 403 unless this principal reads operator data.
    pub(crate) fn require_operator(&self) -> Result<(), ApiError> {
        if self.operator {
            Ok(())
        } else {
            Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "forbidden",
                "this route serves operator data; use a token with \"operator\": true",
            ))
        }
    }
}

/// The configured tokens.
#[derive(Debug)]
pub(crate) struct Auth {
    tokens: Vec<(Secret, Arc<Principal>)>,
    open: Option<Arc<Principal>>,
}

impl Auth {
    /// The tokens of `config`; the open principal when there are none.
    pub(crate) fn new(config: &ApiConfig) -> Auth {
        let tokens: Vec<_> = config
            .tokens
            .iter()
            .enumerate()
            .map(|(id, t)| {
                let tenants = if t.tenants.iter().any(|x| x == ALL_TENANTS) {
                    Tenants::All
                } else {
                    Tenants::only(t.tenants.iter().cloned())
                };
                let principal = Principal {
                    id,
                    name: t.name.clone().unwrap_or_else(|| format!("token-{id}")),
                    tenants,
                    operator: t.operator,
                    token: true,
                };
                (t.token.clone(), Arc::new(principal))
            })
            .collect();
        let open = tokens.is_empty().then(|| {
            Arc::new(Principal {
                id: 0,
                name: "anonymous".into(),
                tenants: Tenants::All,
                operator: true,
                token: false,
            })
        });
        Auth { tokens, open }
    }

    /// Rate-limit buckets needed: one per token.
    pub(crate) fn principals(&self) -> usize {
        self.tokens.len()
    }

    /// The principal of a request's `Authorization: Bearer <token>` header.
    pub(crate) fn authenticate(&self, headers: &HeaderMap) -> Result<Arc<Principal>, ApiError> {
        if let Some(open) = &self.open {
            return Ok(Arc::clone(open));
        }
        let Some(value) = headers.get(AUTHORIZATION) else {
            return Err(ApiError::unauthorized(
                "unauthorized",
                "this route needs `Authorization: Bearer <token>`",
            ));
        };
        let presented = value
            .to_str()
            .ok()
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "unauthorized",
                    "the Authorization header must be `Bearer <token>`",
                )
            })?;
        self.find(presented.as_bytes())
            .ok_or_else(|| ApiError::unauthorized("invalid_token", "the token is not valid"))
    }

    /// The principal whose token is `presented`, comparing with every token in constant time.
    fn find(&self, presented: &[u8]) -> Option<Arc<Principal>> {
        let mut found = 0u64.ct_eq(&1);
        let mut index = 0u64;
        for (i, (token, _)) in self.tokens.iter().enumerate() {
            let equal = token.bytes().ct_eq(presented);
            index = u64::conditional_select(&index, &(i as u64), equal);
            found |= equal;
        }
        bool::from(found).then(|| Arc::clone(&self.tokens[index as usize].1))
    }
}

/// Middleware of the protected routes: puts the request's [`Principal`] in its extensions, or
/// answers 401 — 429 once the bucket shared by every request without a valid token is spent.
/// Every 401, 403 and 429 is written to the audit log (target `pulso::audit`): status, the
/// token's name or `anonymous`, the client's address and the route, never the token.
pub(crate) async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.to_string());
    let route = request.extensions().get::<MatchedPath>().map_or_else(
        || request.uri().path().to_owned(),
        |p| p.as_str().to_owned(),
    );
    let (principal, response) = match state.auth.authenticate(request.headers()) {
        Ok(principal) => {
            request.extensions_mut().insert(Arc::clone(&principal));
            (principal.name.clone(), next.run(request).await)
        }
        Err(error) => {
            let response = match state.limiter.take_anonymous(Instant::now()) {
                Ok(()) => error.into_response(),
                Err(wait) => ApiError::rate_limited(whole_seconds(wait)).into_response(),
            };
            ("anonymous".to_owned(), response)
        }
    };
    let status = response.status();
    if matches!(status.as_u16(), 401 | 403 | 429) {
        tracing::warn!(
            target: "pulso::audit",
            status = status.as_u16(),
            principal,
            client,
            route,
            "API request refused"
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;
    use crate::config::TokenConfig;

    fn config() -> ApiConfig {
        let token = |t: &str, tenants: &[&str], operator| TokenConfig {
            name: None,
            token: Secret::new(t),
            tenants: tenants.iter().map(|s| s.to_string()).collect(),
            operator,
        };
        ApiConfig {
            tokens: vec![
                token("aaaaaaaaaaaaaaaa", &["acme"], false),
                token("bbbbbbbbbbbbbbbb", &["*"], true),
            ],
            ..ApiConfig::default()
        }
    }

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn tokens_map_to_their_principals() {
        let auth = Auth::new(&config());
        let a = auth.authenticate(&with("Bearer aaaaaaaaaaaaaaaa")).unwrap();
        assert_eq!((a.id, a.operator), (0, false));
        assert_eq!(a.tenants, Tenants::only(["acme"]));
        let b = auth.authenticate(&with("bearer bbbbbbbbbbbbbbbb")).unwrap();
        assert_eq!((b.id, b.operator, b.name.as_str()), (1, true, "token-1"));
        assert!(b.tenants.is_all());
        for bad in [
            "Bearer aaaaaaaaaaaaaaa",
            "Bearer aaaaaaaaaaaaaaaaa",
            "Bearer ",
            "Basic aaaaaaaaaaaaaaaa",
            "aaaaaaaaaaaaaaaa",
        ] {
            let e = auth.authenticate(&with(bad)).unwrap_err();
            assert_eq!(e.status, axum::http::StatusCode::UNAUTHORIZED, "{bad}");
        }
        assert_eq!(
            auth.authenticate(&HeaderMap::new()).unwrap_err().code,
            "unauthorized"
        );
        assert_eq!(auth.principals(), 2);
    }

    #[test]
    fn no_tokens_is_the_open_operator() {
        let auth = Auth::new(&ApiConfig::default());
        let p = auth.authenticate(&HeaderMap::new()).unwrap();
        assert!(p.operator && p.tenants.is_all() && !p.token);
        assert_eq!(auth.principals(), 0);
    }
}
