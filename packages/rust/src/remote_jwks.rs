//! `EDGE_JWKS_URL` (features `tower`, `es256` and `client`): the edge's public keys,
//! fetched from `https://<app>/__edge/jwks.json` by the layer.
//!
//! The rules, and why:
//!
//! - https only, or http to a loopback host: a JWKS read in clear text is a key an
//!   attacker on the path chooses. Checked at construction; no redirect is followed (one
//!   could lead anywhere).
//! - Fetched on the first ES256 assertion, not at startup (the edge may start later), and
//!   kept [`MAX_AGE`].
//! - An assertion whose `kid` the cached keys lack (or, without `kid`, that no cached key
//!   verifies) fetches them again, at most once every [`COOLDOWN`]: random kids from an
//!   attacker cannot turn every request into a fetch. One fetch runs at a time; the
//!   requests that ask meanwhile wait for it and use what it brought.
//! - A fetch gives up after [`TIMEOUT`], reads at most [`MAX_BODY`] bytes, and takes only
//!   a 200 with the JWKS shape. On failure the layer logs `edge_jwks_unavailable` (the
//!   reason, never the body) and keeps the keys it had: they go on verifying until a
//!   fetch succeeds, for at most [`MAX_KEPT`] after the last one that did, then they are
//!   dropped (a key the edge stopped publishing, perhaps because it leaked, must not
//!   verify forever while the URL is down).
//! - A 404 is an answer, not a failure: the edge serves no JWKS under HS256 (an operator
//!   who moved back from ES256, perhaps after a key leaked), so the keys held are dropped
//!   at once (and `edge_jwks_unavailable` logged with the status).

use std::fmt;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Url;
use serde_json::{Value, json};

use crate::jwks::Jwks;
use crate::jws::{self, JwsError};
use crate::time::Timestamp;
use crate::{Assertion, TokenError};

/// How long fetched keys are used before they are fetched again (the edge serves them
/// with `Cache-Control: max-age=300`).
pub(crate) const MAX_AGE: Duration = Duration::from_secs(300);
/// The least time between two fetches, whatever asks for them.
pub(crate) const COOLDOWN: Duration = Duration::from_secs(30);
/// How long fetched keys go on verifying while every fetch fails, counted from the last
/// fetch that succeeded.
pub(crate) const MAX_KEPT: Duration = Duration::from_secs(24 * 60 * 60);
/// A fetch that takes longer gives up.
const TIMEOUT: Duration = Duration::from_secs(5);
/// The largest JWKS read (the edge's, with a few keys, is under 1 KiB).
const MAX_BODY: usize = 64 * 1024;

pub(crate) type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;
pub(crate) type Log = Arc<dyn Fn(&Value) + Send + Sync>;

/// Why `EDGE_JWKS_URL` was refused at construction. It never quotes the value (swapped
/// arguments could put a secret there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwksUrlError {
    /// Not an absolute URL.
    NotAUrl,
    /// Neither `https:` nor `http:` to a loopback host.
    NotHttps,
}

impl fmt::Display for JwksUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwksUrlError::NotAUrl => f.write_str("EDGE_JWKS_URL is not an absolute URL"),
            JwksUrlError::NotHttps => f.write_str(
                "EDGE_JWKS_URL must be https: (or http: to localhost, 127.0.0.0/8 or [::1]): \
                 keys read in clear text are keys an attacker on the path chooses",
            ),
        }
    }
}

impl std::error::Error for JwksUrlError {}

/// The keys of `EDGE_JWKS_URL`, as last fetched.
pub(crate) struct RemoteJwks {
    url: Url,
    http: reqwest::Client,
    cache: Mutex<Cache>,
    /// Held for the whole of a fetch: one at a time, and the requests that need it wait.
    fetching: Arc<tokio::sync::Mutex<()>>,
}

struct Cache {
    /// What the last successful fetch brought; none before the first, after a 404, and
    /// once [`MAX_KEPT`] has passed since that fetch.
    keys: Arc<Jwks>,
    /// How many times `keys` was replaced (or dropped): a request that saw one generation
    /// and finds another knows to look again.
    generation: u64,
    /// When that fetch was; `None` while no keys are held.
    fetched_at: Option<Timestamp>,
    /// When the last fetch began, whatever became of it: the cooldown counts from it.
    tried_at: Option<Timestamp>,
}

impl RemoteJwks {
    pub(crate) fn new(url: &str) -> Result<RemoteJwks, JwksUrlError> {
        let url = checked_url(url)?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("the TLS backend initializes (reqwest::Client::new assumes as much)");
        let cache = Cache { keys: Arc::new(Jwks::empty()), generation: 0, fetched_at: None, tried_at: None };
        Ok(RemoteJwks { url, http, cache: Mutex::new(cache), fetching: Arc::default() })
    }

    /// `verify` applied to the keys an assertion needs: the cached ones, fetched first
    /// when stale, and fetched again once (the cooldown allowing) when they lack the key
    /// the assertion names. An assertion that is not ES256 never causes a fetch.
    pub(crate) async fn verify(
        self: &Arc<Self>,
        token: &str,
        verify: impl Fn(&Jwks) -> Result<Assertion, TokenError>,
        clock: &Clock,
        log: &Log,
    ) -> Result<Assertion, TokenError> {
        let Some(header) = jws::header_of(token).filter(|h| h.get("alg").and_then(Value::as_str) == Some("ES256"))
        else {
            return verify(&self.keys().0);
        };
        if self.stale(clock()) {
            self.refresh(self.keys().1, clock, log).await;
        }
        // After the refresh: a fetch that just succeeded keeps them, one that failed does not.
        self.drop_expired(clock(), log);
        let (keys, generation) = self.keys();
        let verified = verify(&keys);
        let lacks_the_key = match &verified {
            Err(TokenError::Jws(JwsError::UnknownKey)) => true,
            Err(TokenError::Jws(JwsError::BadSignature)) => !header.contains_key("kid"),
            _ => false,
        };
        if lacks_the_key && self.refresh(generation, clock, log).await { verify(&self.keys().0) } else { verified }
    }

    /// The keys, and their generation.
    fn keys(&self) -> (Arc<Jwks>, u64) {
        let cache = self.cache.lock().expect("JWKS cache lock");
        (cache.keys.clone(), cache.generation)
    }

    /// Drops the keys when no fetch has succeeded for [`MAX_KEPT`] (whether or not one was
    /// tried meanwhile): an edge that stopped publishing a key, while its URL is down,
    /// must not leave that key verifying until the process restarts.
    fn drop_expired(&self, now: Timestamp, log: &Log) {
        let mut cache = self.cache.lock().expect("JWKS cache lock");
        // A clock that went back reads as no time passed (`since` saturates).
        if cache.fetched_at.is_some_and(|at| now.since(at) > MAX_KEPT) {
            cache.drop_keys();
            drop(cache);
            let reason = format!("no fetch succeeded for {} h: the keys held are dropped", MAX_KEPT.as_secs() / 3600);
            log(&json!({"event": "edge_jwks_unavailable", "reason": reason}));
        }
    }

    fn stale(&self, now: Timestamp) -> bool {
        // A clock that went back counts as stale: it cannot say how old the keys are.
        let fetched_at = self.cache.lock().expect("JWKS cache lock").fetched_at;
        fetched_at.is_none_or(|at| now < at || now.since(at) >= MAX_AGE)
    }

    fn tried_at(&self) -> Option<Timestamp> {
        self.cache.lock().expect("JWKS cache lock").tried_at
    }

    fn cooling_down(&self, now: Timestamp) -> bool {
        self.tried_at().is_some_and(|at| at <= now && now.since(at) < COOLDOWN)
    }

    /// Fetches the keys unless a fetch began less than [`COOLDOWN`] ago, or waits for the
    /// one under way; returns whether the keys changed since the caller saw `generation`.
    async fn refresh(self: &Arc<Self>, generation: u64, clock: &Clock, log: &Log) -> bool {
        let one_at_a_time = self.fetching.clone().lock_owned().await;
        // A fetch that ran while this request waited answers it too: a burst of requests
        // for a key just rotated in shares one fetch, and all of them verify.
        if self.keys().1 != generation {
            return true;
        }
        let now = clock();
        if self.cooling_down(now) {
            return false;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            log(&json!({"event": "edge_jwks_unavailable", "reason": "no tokio runtime to fetch EDGE_JWKS_URL on"}));
            return false;
        };
        self.cache.lock().expect("JWKS cache lock").tried_at = Some(now);
        // A task that holds the lock, not this request's future: a client that hangs up
        // mid-fetch must not cancel the fetch the requests behind it wait for.
        let (this, log) = (self.clone(), log.clone());
        let fetch = async move {
            let _held = one_at_a_time;
            this.fetch(now, &log).await
        };
        runtime.spawn(fetch).await.unwrap_or(false)
    }

    /// One fetch into the cache; whether it changed the keys (brought some, or a 404
    /// dropped them).
    async fn fetch(&self, now: Timestamp, log: &Log) -> bool {
        match self.download().await {
            Ok(Some(keys)) => {
                let mut cache = self.cache.lock().expect("JWKS cache lock");
                cache.keys = Arc::new(keys);
                cache.generation += 1;
                cache.fetched_at = Some(now);
                true
            }
            // The edge serves no JWKS (it signs HS256 again, perhaps because the ES256 key
            // leaked): the keys held are no longer the edge's, so they go at once. The
            // cache is as before the first fetch; the cooldown still counts this attempt.
            Ok(None) => {
                self.cache.lock().expect("JWKS cache lock").drop_keys();
                log(&json!({"event": "edge_jwks_unavailable", "reason": "status 404"}));
                true
            }
            // The keys already held stay: an outage of the edge's JWKS must not log out
            // every user the cached keys still verify.
            Err(reason) => {
                log(&json!({"event": "edge_jwks_unavailable", "reason": reason}));
                false
            }
        }
    }

    /// One GET of the JWKS (`None`: a 404, the edge serves none), or why it failed. The
    /// reason never holds the body: a server that answers with something else than a JWKS
    /// is not one to quote in a log.
    async fn download(&self) -> Result<Option<Jwks>, String> {
        let request = self.http.get(self.url.clone()).timeout(TIMEOUT);
        let mut response = request.send().await.map_err(failure)?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if response.status() != reqwest::StatusCode::OK {
            return Err(format!("status {}", response.status().as_u16()));
        }
        let too_large = || format!("body over {} KiB", MAX_BODY / 1024);
        if response.content_length().is_some_and(|len| len > MAX_BODY as u64) {
            return Err(too_large());
        }
        // Counted as it arrives: a Content-Length is only the server's word.
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failure)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Jwks::fetched(&body).map(Some).map_err(|refused| refused.to_string())
    }
}

impl Cache {
    /// No keys held, as before the first fetch (a new generation: requests waiting for a
    /// fetch look again, and find none).
    fn drop_keys(&mut self) {
        self.keys = Arc::new(Jwks::empty());
        self.generation += 1;
        self.fetched_at = None;
    }
}

/// An https URL, or http to a loopback host.
fn checked_url(text: &str) -> Result<Url, JwksUrlError> {
    let url = Url::parse(text).map_err(|_| JwksUrlError::NotAUrl)?;
    // The url crate normalizes the host: lower-case names, dotted IPv4 (127.1 is
    // 127.0.0.1), compressed IPv6 in brackets.
    let host = url.host_str().unwrap_or_default();
    let loopback = host == "localhost" || host == "[::1]" || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(JwksUrlError::NotHttps),
    }
}

/// A failed request as a log reason: reqwest's error and its causes, without the URL.
fn failure(error: reqwest::Error) -> String {
    if error.is_timeout() {
        return format!("no answer within {} s", TIMEOUT.as_secs());
    }
    let error = error.without_url();
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        reason = format!("{reason}: {cause}");
        source = cause.source();
    }
    reason
}
