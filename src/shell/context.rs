//! The request's device (crate::events::RequestContext): its `User-Agent` and
//! Cloudflare's `cf` data. Read only on the object path and at a login, and only when
//! something uses it (events, or `ON_CONTEXT_CHANGE`): the fast path never pays for it.
//!
//! With `EDGE_DEBUG=1`, `x-edge-debug-cf: country=CH; asn=3303; colo=ZRH` stands in for
//! the `cf` data, which `wrangler dev` fills with placeholders: tests move a session to
//! another country that way. Like every `x-edge-*` header it never reaches the origin,
//! and production ignores it.

use crate::config::{Config, OnContextChange};
use crate::events::RequestContext;
use worker::{Cf, Headers};

const DEBUG_CF_HEADER: &str = "x-edge-debug-cf";

/// The context of a request with these headers and `cf`, if anything uses one.
pub(crate) fn request_context(headers: &Headers, cf: Option<&Cf>, config: &Config) -> Option<RequestContext> {
    if config.events.is_none() && config.on_context_change == OnContextChange::Ignore {
        return None;
    }
    let header = |name: &str| headers.get(name).ok().flatten();
    let mut country = cf.and_then(Cf::country);
    let mut asn = cf.and_then(Cf::asn);
    let mut colo = cf.map(Cf::colo);
    if let Some(fake) = header(DEBUG_CF_HEADER).filter(|_| config.debug_headers) {
        for (key, value) in fake.split(';').filter_map(|pair| pair.trim().split_once('=')) {
            match key {
                "country" => country = Some(value.to_owned()),
                "asn" => asn = value.parse().ok(),
                "colo" => colo = Some(value.to_owned()),
                _ => {}
            }
        }
    }
    let user_agent = header("User-Agent");
    Some(RequestContext::new(user_agent.as_deref(), country.as_deref(), asn, colo.as_deref()))
}
