//! Delivering a family's events (crate::events): each one signed at the attempt
//! (`iat` now; `exp` five minutes on for the webhook, four days for the queue, whose
//! consumer may be days behind), to the webhook (`EVENTS_URL`) and the queue (`EVENTS`),
//! whichever are configured. What took it is reported back to the outbox;
//! nothing here retries or decides.

use std::time::Duration;

use crate::config::Config;
use crate::events::{Delivery, Transport};
use crate::origin::{EVENT_QUEUE_LIFETIME_SECS, EVENT_WEBHOOK_LIFETIME_SECS};
use crate::time::Timestamp;
use futures_util::future::{Either, select};
use worker::js_sys::{Function, Promise, Reflect};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{Delay, Env, Fetch, Headers, Method, Request, RequestInit, RequestRedirect};

use crate::shell::runtime::log_event;

/// The Queue producer binding events go to, when the Worker has one.
pub(crate) const EVENTS_QUEUE_BINDING: &str = "EVENTS";

/// Longest wait for a receiver or the queue: the alarm delivers one family's events at a
/// time.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// The transports configured: the webhook when `EVENTS_URL` is set, the queue when the
/// Worker has an `EVENTS` binding with a `send` method.
pub(crate) fn transports(env: &Env, config: &Config) -> Vec<Transport> {
    let mut transports = Vec::new();
    if config.events.as_ref().is_some_and(|events| events.url.is_some()) {
        transports.push(Transport::Webhook);
    }
    if queue_send(env).is_some() {
        transports.push(Transport::Queue);
    }
    transports
}

/// Tries each transport `delivery` still needs; returns those that took it.
pub(crate) async fn deliver(env: &Env, config: &Config, delivery: &Delivery, now: Timestamp) -> Vec<Transport> {
    let Some(events) = config.events.as_ref() else { return Vec::new() };
    let signed = |lifetime| delivery.event.sign(events.secret.signing(), &config.origin_audience, now, lifetime);
    let mut took = Vec::new();
    for transport in &delivery.to {
        let result = match transport {
            Transport::Webhook => match &events.url {
                Some(url) => post(url.as_str(), &signed(EVENT_WEBHOOK_LIFETIME_SECS)).await,
                None => Err("EVENTS_URL is not set".into()),
            },
            Transport::Queue => enqueue(env, &signed(EVENT_QUEUE_LIFETIME_SECS)).await,
        };
        match result {
            Ok(()) => took.push(*transport),
            Err(why) => {
                let transport = if *transport == Transport::Webhook { "webhook" } else { "queue" };
                let fields = [("jti", delivery.event.jti.as_str()), ("transport", transport), ("error", &why)];
                log_event("event_delivery_failed", &fields);
            }
        }
    }
    took
}

/// A `POST` of the signed event: a 2xx answer is a delivery. Redirects are not followed
/// (the receiver's address is the operator's, not the receiver's to change).
async fn post(url: &str, body: &str) -> Result<(), String> {
    let headers = Headers::new();
    headers.set("Content-Type", "application/jwt").map_err(|e| e.to_string())?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(body.into()));
    init.with_redirect(RequestRedirect::Manual);
    let request = Request::new_with_init(url, &init).map_err(|e| e.to_string())?;
    let call = Box::pin(async move { Fetch::Request(request).send().await });
    match select(call, Delay::from(WEBHOOK_TIMEOUT)).await {
        Either::Left((Ok(response), _)) if (200..300).contains(&response.status_code()) => Ok(()),
        Either::Left((Ok(response), _)) => Err(format!("answered {}", response.status_code())),
        Either::Left((Err(e), _)) => Err(e.to_string()),
        Either::Right(_) => Err("timed out".into()),
    }
}

/// `env.EVENTS.send(body)`, called through JavaScript: the queue API is one method, and
/// the `worker` crate's `queue` feature would add its whole binding to the bundle.
async fn enqueue(env: &Env, body: &str) -> Result<(), String> {
    let (queue, send) = queue_send(env).ok_or("no EVENTS queue binding")?;
    let promise = send.call1(&queue, &JsValue::from_str(body)).map_err(|e| format!("{e:?}"))?;
    let promise = promise.dyn_into::<Promise>().map_err(|_| "EVENTS.send returned no promise".to_owned())?;
    match select(JsFuture::from(promise), Delay::from(WEBHOOK_TIMEOUT)).await {
        Either::Left((sent, _)) => sent.map(|_| ()).map_err(|e| format!("{e:?}")),
        Either::Right(_) => Err("timed out".into()),
    }
}

fn queue_send(env: &Env) -> Option<(JsValue, Function)> {
    let env: &JsValue = env.as_ref();
    let queue = Reflect::get(env, &JsValue::from_str(EVENTS_QUEUE_BINDING)).ok().filter(|q| q.is_object())?;
    let send = Reflect::get(&queue, &JsValue::from_str("send")).ok()?.dyn_into::<Function>().ok()?;
    Some((queue, send))
}
