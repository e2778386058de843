//! The admin API client (feature `client`): "your devices" for one user, through
//! `POST {EDGE_URL}/__edge/admin`. Each call signs a single-use token (random `jti`) that
//! lives 60 s. Async, on reqwest (so inside a tokio runtime); an https `EDGE_URL` needs
//! feature `rustls-tls` or a client of your own ([`AdminClient::with_http_client`]).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::system::{admin_token, now};
use crate::{AdminAction, FamilyId, KeyRing, KeyRingError, Revoked, Session};
use reqwest::Url;

/// As long as the other packages wait for the edge.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Longest unexpected answer kept in an error.
const MAX_KEPT_BODY: usize = 512;

/// Lists and revokes a user's sessions at the edge. Cheap to clone (one connection pool).
///
/// ```no_run
/// use edge_session_origin::{AdminClient, FamilyId};
/// # async fn devices() -> Result<(), Box<dyn std::error::Error>> {
/// // EDGE_URL is the app's public URL: the edge answers /__edge/admin there.
/// let admin = AdminClient::new("http://localhost:8787", "o1:0123456789abcdef0123456789abcdef")?;
/// // or AdminClient::from_env()?, from EDGE_URL and ORIGIN_SECRET
/// for session in admin.list_sessions("alice").await? {
///     println!("{} since {} ({:?})", session.sid, session.created_at, session.user_agent);
/// }
/// let current = FamilyId::parse("AQEBAQEBAQEBAQEBAQEBAQ"); // the request's sid
/// let ended = admin.revoke_all("alice", current).await?; // "sign out all other devices"
/// println!("{} signed out", ended.revoked);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AdminClient {
    endpoint: Arc<str>,
    keys: Arc<KeyRing>,
    http: reqwest::Client,
}

impl AdminClient {
    /// A client for the edge at `edge_url` (the app's public URL: `http(s)://host[:port]`),
    /// signing with `origin_secret` (`ORIGIN_SECRET`, the edge's).
    pub fn new(edge_url: &str, origin_secret: &str) -> Result<AdminClient, ClientConfigError> {
        let endpoint = admin_endpoint(edge_url)?;
        let keys = Arc::new(KeyRing::parse(origin_secret).map_err(ClientConfigError::OriginSecret)?);
        // The admin API never redirects, and reqwest's default policy follows a redirect to
        // the same host with `Authorization` (to a path the edge forwards to the app): none
        // is followed, and the 3xx is an error like any status but 2xx.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("the TLS backend initializes (reqwest::Client::new assumes as much)");
        Ok(AdminClient { endpoint: endpoint.into(), keys, http })
    }

    /// From `EDGE_URL` and `ADMIN_SECRET` (the edge's, when it has one), else
    /// `ORIGIN_SECRET`.
    pub fn from_env() -> Result<AdminClient, String> {
        let url =
            std::env::var("EDGE_URL").map_err(|_| "EDGE_URL is not set: the admin API is on the app's public URL")?;
        let (name, secret) = match std::env::var("ADMIN_SECRET") {
            Ok(admin) => ("ADMIN_SECRET", admin),
            Err(_) => (
                "ORIGIN_SECRET",
                // A verify-only service (EDGE_JWKS, no ORIGIN_SECRET) has nothing to sign with.
                std::env::var("ORIGIN_SECRET")
                    .map_err(|_| "ADMIN_SECRET is not set (nor ORIGIN_SECRET): the admin API needs one of them")?,
            ),
        };
        AdminClient::new(&url, &secret).map_err(|e| match e {
            ClientConfigError::OriginSecret(ring) => format!("{name}: {ring}"),
            other => other.to_string(),
        })
    }

    /// The same client, sending through `http` (your TLS, proxy or pool settings). Build it
    /// with `.redirect(reqwest::redirect::Policy::none())`, as [`AdminClient::new`] does:
    /// reqwest's default policy follows a same-host redirect with the bearer token.
    pub fn with_http_client(self, http: reqwest::Client) -> AdminClient {
        AdminClient { http, ..self }
    }

    /// The user's live sessions, oldest first (times in Unix seconds). None is marked as the
    /// current one: compare [`Session::sid`] with the request user's `sid`.
    pub async fn list_sessions(&self, sub: &str) -> Result<Vec<Session>, AdminError> {
        #[derive(Deserialize)]
        struct List {
            sessions: Vec<Session>,
        }
        let list: List = self.call(sub, AdminAction::List).await?;
        Ok(list.sessions)
    }

    /// Signs one of the user's sessions out ("sign out this device"): [`Revoked`]. A `sid`
    /// that is not one of the user's is [`AdminError::Refused`] with status 404. (A `sid`
    /// from a form or a URL is checked as you parse it: [`FamilyId::parse`].)
    pub async fn revoke_session(&self, sub: &str, sid: FamilyId) -> Result<Revoked, AdminError> {
        self.call(sub, AdminAction::Revoke { family: sid }).await
    }

    /// Signs out every session of the user but `except` ("sign out all other devices":
    /// pass the current request's `sid`): [`Revoked`].
    pub async fn revoke_all(&self, sub: &str, except: Option<FamilyId>) -> Result<Revoked, AdminError> {
        self.call(sub, AdminAction::RevokeAll { except }).await
    }

    async fn call<T: DeserializeOwned>(&self, sub: &str, action: AdminAction) -> Result<T, AdminError> {
        let token = admin_token(&self.keys, sub, action, now());
        let request = self.http.post(&*self.endpoint).bearer_auth(token).timeout(TIMEOUT);
        let response = request.send().await.map_err(AdminError::Http)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(AdminError::Http)?;
        if !(200..300).contains(&status) {
            let body = serde_json::from_slice(&body).unwrap_or_else(|_| Value::String(kept(&body)));
            return Err(AdminError::Refused { status, body });
        }
        serde_json::from_slice(&body).map_err(|_| AdminError::UnexpectedAnswer { status, body: kept(&body) })
    }
}

impl fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminClient").field("endpoint", &self.endpoint).finish_non_exhaustive()
    }
}

/// The start of a body, as text, for an error message.
fn kept(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(MAX_KEPT_BODY)]).into_owned()
}

/// Why an admin call failed.
#[derive(Debug)]
pub enum AdminError {
    /// The edge answered with an error status: 401 (a bad token: check `ORIGIN_SECRET`),
    /// 404 (no such session for this user), 409 (a token used twice)… or a redirect (3xx),
    /// which is never followed.
    Refused {
        /// The HTTP status.
        status: u16,
        /// Its JSON body (`{"error": …}`), or the text of one that is not JSON.
        body: Value,
    },
    /// No answer: connection, TLS or timeout.
    Http(reqwest::Error),
    /// A success status, but not the JSON the edge answers (`EDGE_URL` is not the edge?).
    UnexpectedAnswer {
        /// The HTTP status.
        status: u16,
        /// The start of the body, as text.
        body: String,
    },
}

impl AdminError {
    /// The HTTP status, when there was an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            AdminError::Refused { status, .. } | AdminError::UnexpectedAnswer { status, .. } => Some(*status),
            AdminError::Http(e) => e.status().map(|s| s.as_u16()),
        }
    }
}

impl fmt::Display for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdminError::Refused { status, body } => match body.get("error").and_then(Value::as_str) {
                Some(error) => write!(f, "edge admin API answered {status}: {error}"),
                None => write!(f, "edge admin API answered {status}: {body}"),
            },
            AdminError::Http(e) => write!(f, "edge admin API unreachable: {e}"),
            AdminError::UnexpectedAnswer { status, body } => {
                write!(f, "edge admin API answered {status} with an unexpected body: {body}")
            }
        }
    }
}

impl std::error::Error for AdminError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AdminError::Http(e) => Some(e),
            _ => None,
        }
    }
}

/// `{edge_url}/__edge/admin`, parsed rather than concatenated: an `EDGE_URL` with a path,
/// query or credentials would send the bearer token to a path the edge does not answer,
/// which it forwards to the origin, `Authorization` included. A refusal names the rule it
/// broke, never the value: with the arguments swapped, that would be `ORIGIN_SECRET`.
fn admin_endpoint(edge_url: &str) -> Result<String, ClientConfigError> {
    let refused = |rule: &str| Err(ClientConfigError::EdgeUrl(rule.to_owned()));
    // The parser would drop whitespace and control characters where it meets them.
    if edge_url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return refused("it is not a URL");
    }
    let Ok(mut url) = Url::parse(edge_url) else { return refused("it is not a URL") };
    if !matches!(url.scheme(), "http" | "https") {
        return refused("the scheme is not http or https");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return refused("it has credentials");
    }
    if url.host_str().is_none() {
        return refused("it has no host");
    }
    if url.path() != "/" {
        return refused("it has a path");
    }
    if url.query().is_some() {
        return refused("it has a query");
    }
    if url.fragment().is_some() {
        return refused("it has a fragment");
    }
    url.set_path("/__edge/admin");
    Ok(url.into())
}

/// Why [`AdminClient::new`] refused its arguments.
#[derive(Debug)]
pub enum ClientConfigError {
    /// `EDGE_URL` is not `http(s)://host[:port]` (no path, query, fragment or credentials):
    /// which rule it broke (`"it has a path"`…), never the value itself.
    EdgeUrl(String),
    /// `ORIGIN_SECRET` is not a valid key ring.
    OriginSecret(KeyRingError),
}

impl fmt::Display for ClientConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EdgeUrl(rule) => write!(
                f,
                "EDGE_URL must be http(s)://host[:port], with no path, query, fragment or credentials: {rule}"
            ),
            Self::OriginSecret(e) => write!(f, "ORIGIN_SECRET: {e}"),
        }
    }
}

impl std::error::Error for ClientConfigError {}

#[cfg(test)]
mod endpoint_tests {
    use super::*;

    #[test]
    fn the_endpoint_is_the_edge_url_with_the_admin_path() {
        assert_eq!(admin_endpoint("http://localhost:8787").unwrap(), "http://localhost:8787/__edge/admin");
        assert_eq!(admin_endpoint("https://app.example.com/").unwrap(), "https://app.example.com/__edge/admin");
        assert_eq!(admin_endpoint("http://[::1]:8787/").unwrap(), "http://[::1]:8787/__edge/admin");
        for bad in [
            "app.example.com",
            "localhost:8787",
            "ftp://app.example.com",
            "http://",
            "https://app.example.com/base",
            "https://app.example.com/base/",
            "https://app.example.com/__edge/admin",
            "https://app.example.com/?x=1",
            "https://app.example.com/?",
            "https://app.example.com?x=1",
            "https://app.example.com/#x",
            "https://app.example.com#",
            "https://user:pw@app.example.com",
            "https://user@app.example.com",
            "https://app.example.com:port",
            "http://app.example.com\\base",
            "http://app.example.com /base",
            "http://app.example.com\n",
            "o1:0123456789abcdef0123456789abcdef",
            "",
        ] {
            assert!(matches!(admin_endpoint(bad), Err(ClientConfigError::EdgeUrl(_))), "{bad}");
        }
    }

    #[test]
    fn a_refused_edge_url_names_the_rule_never_the_value() {
        for (bad, rule) in [
            ("ftp://app.example.com", "the scheme is not http or https"),
            ("https://user:pw@app.example.com", "it has credentials"),
            ("https://app.example.com/base", "it has a path"),
            ("https://app.example.com/?x=1", "it has a query"),
            ("https://app.example.com/#x", "it has a fragment"),
            ("http://app.example.com\\base", "it has a path"),
            ("not a url", "it is not a URL"),
        ] {
            let err = admin_endpoint(bad).unwrap_err();
            assert!(matches!(&err, ClientConfigError::EdgeUrl(r) if r == rule), "{bad}: {err:?}");
            assert!(err.to_string().ends_with(&format!(": {rule}")), "{err}");
            assert!(!format!("{err} {err:?}").contains("example"), "{err:?}");
        }
    }
}
