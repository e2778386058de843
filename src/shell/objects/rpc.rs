//! How the worker and its objects talk: RPC, `stub.ask(command, fault, clock_ahead_ms)`,
//! with the JSON of `crate::messages` in a string each way.
//!
//! Why not `stub.fetch()`: an HTTP call builds, encodes and parses a `Request` and a
//! `Response` on both sides, and under `wrangler dev` it is a subrequest too, which its
//! inspector relays to wrangler's Node process event by event (BENCHMARKS.md, "The object
//! path"). workerd lets a worker call an object's methods only if the object's class
//! `extends DurableObject`: `src/shell/entry.js` declares both classes so.
//!
//! Both classes still answer the same command over `fetch`, and the worker falls back to
//! it when an object refuses RPC: during a deploy a worker of this release may reach an
//! object of an older one, and the other way round (docs/upgrades.md).

use std::rc::Rc;

use crate::config::Config;
use crate::shell::debug::DebugAsk;
use crate::shell::runtime;
use wasm_bindgen::prelude::wasm_bindgen;
use worker::js_sys::{Promise, Reflect};
use worker::wasm_bindgen::JsValue;
use worker::wasm_bindgen_futures::{JsFuture, future_to_promise};
use worker::{Env, Request, Response, Stub};

#[wasm_bindgen]
extern "C" {
    /// An object's stub, seen through the one method both classes answer.
    type ObjectStub;

    #[wasm_bindgen(method, catch)]
    fn ask(this: &ObjectStub, command: &str, fault: Option<String>, clock_ahead_ms: f64) -> Result<Promise, JsValue>;
}

/// What an object says to a command: the reply's JSON, or a refusal with the HTTP status
/// its `fetch` answers it with.
pub(super) type Answer = Result<String, (String, u16)>;

/// Why an RPC call returned no reply.
pub(super) enum CallError {
    /// Nothing ran: the object's class does not `extend DurableObject` (an object of a
    /// release before RPC), or the stub has no methods (an old compatibility date). Ask
    /// it over `fetch`.
    NoRpc,
    /// It threw (a refusal, a failed write, a broken object): no retry, which could apply a
    /// command twice.
    Failed(String),
}

/// Sends `command` to the object behind `stub`.
pub(super) async fn call(stub: Stub, command: &str, debug: &DebugAsk) -> Result<String, CallError> {
    let (fault, clock_ahead_ms) = debug.parts();
    let stub: ObjectStub = stub.into_rpc();
    let reply = match stub.ask(command, fault, clock_ahead_ms) {
        Ok(promise) => JsFuture::from(promise).await,
        // Thrown before anything left this isolate: a stub without methods (a Worker
        // whose compatibility date is before 2024-04-03, when stubs gained them).
        Err(_) => return Err(CallError::NoRpc),
    };
    match reply {
        Ok(reply) => reply.as_string().ok_or_else(|| CallError::Failed("the object's reply is not a string".into())),
        Err(thrown) if refuses_rpc(&thrown) => Err(CallError::NoRpc),
        Err(thrown) => Err(CallError::Failed(message(&thrown))),
    }
}

/// workerd's refusal to call a method on a class not declared `extends DurableObject`: a
/// `TypeError` thrown in the object's isolate before it looks the method up
/// (`src/workerd/api/worker-rpc.c++`, "The receiving Durable Object does not support RPC,
/// because its class was not declared with `extends DurableObject`…"). Either phrase
/// matches, should one be reworded. The objects' own errors are never `TypeError`s
/// carrying them, so a command that ran is never sent twice.
fn refuses_rpc(thrown: &JsValue) -> bool {
    let field = |name| Reflect::get(thrown, &JsValue::from_str(name)).ok().and_then(|v| v.as_string());
    field("name").as_deref() == Some("TypeError")
        && field("message").is_some_and(|m| m.contains("does not support RPC") || m.contains("extends DurableObject"))
}

fn message(thrown: &JsValue) -> String {
    Reflect::get(thrown, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| thrown.as_string().unwrap_or_else(|| "the object threw".into()))
}

/// What both objects do with a command (the JSON of `crate::messages`): decide, persist,
/// reply, or refuse with an HTTP status.
pub(super) trait Answers {
    fn env(&self) -> &Env;
    async fn answer(&self, command: &str, debug: &DebugAsk, config: &Config) -> worker::Result<Answer>;
}

/// An object's `ask`: reads the configuration and the debug asks, answers, and settles
/// the promise with the reply (a refusal or an error rejects it).
pub(super) fn serve<T: Answers + 'static>(
    object: Rc<T>,
    command: String,
    fault: Option<String>,
    clock_ahead_ms: f64,
) -> Promise {
    future_to_promise(async move {
        let config = runtime::config(object.env()).map_err(|e| JsValue::from_str(&e.to_string()))?;
        let debug = DebugAsk::from_parts(fault, clock_ahead_ms, &config);
        match object.answer(&command, &debug, &config).await? {
            Ok(reply) => Ok(JsValue::from_str(&reply)),
            Err((refusal, _)) => Err(JsValue::from_str(&refusal)),
        }
    })
}

/// An object's `fetch`: the same command over HTTP, as workers of releases before RPC
/// send it (during a deploy) and as this one does to an object of such a release.
pub(super) async fn serve_http<T: Answers>(object: &T, mut req: Request) -> worker::Result<Response> {
    let config = match runtime::config(object.env()) {
        Ok(config) => config,
        Err(e) => return Response::error(e.to_string(), 500),
    };
    let debug = DebugAsk::of(req.headers(), &config);
    let Ok(command) = req.text().await else {
        return Response::error("unreadable command", 400);
    };
    match object.answer(&command, &debug, &config).await? {
        Ok(reply) => Response::ok(reply),
        Err((refusal, status)) => Response::error(refusal, status),
    }
}
