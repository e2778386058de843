//! Where the origin is: a service binding `ORIGIN`, else `ORIGIN_URL`, else the request's
//! own URL (a Workers route in front of the origin).

use crate::config::Config;
use crate::origin;
use worker::wasm_bindgen::JsValue;
use worker::{
    CacheMode, Env, Fetch, Fetcher, Headers, Request, RequestInit, RequestRedirect, Response, js_sys, web_sys,
};

use super::EdgeError;

/// Sends `req` with `headers` (already prepared by the pipeline) to the origin.
pub(crate) async fn forward(
    env: &Env,
    config: &Config,
    req: Request,
    headers: Headers,
    identified: bool,
) -> Result<Response, EdgeError> {
    let binding = origin_binding(env)?;
    // The raw URL string, not `Request::url()`: parsing with the `url` crate would link
    // its IDNA tables (+240 KiB gzip) for nothing.
    let mut url = req.inner().url();
    if binding.is_none() {
        match &config.origin_url {
            Some(origin) => url = origin.target(&url),
            // A request this worker forwarded to its own URL came back (`origin::LOOP_HEADER`);
            // a client's own marker was not forwarded and counts for nothing.
            None if came_back(&req, config)? => return Err(EdgeError::Loop),
            None => headers.set(origin::LOOP_HEADER, &origin::loop_marker(&config.session_keys))?,
        }
    }
    let forwarded = rebuild(req, &url, headers, identified)?;
    let response = match binding {
        Some(origin) => origin.fetch_request(forwarded).await,
        None => Fetch::Request(forwarded).send().await,
    };
    response.map_err(|e| EdgeError::BadGateway(e.to_string()))
}

/// Whether `req` carries the marker this edge puts on what it forwards to its own URL.
fn came_back(req: &Request, config: &Config) -> Result<bool, EdgeError> {
    let marker = req.headers().get(origin::LOOP_HEADER)?;
    Ok(marker.is_some_and(|marker| origin::is_loop_marker(&marker, &config.session_keys)))
}

/// The `ORIGIN` service binding, if there is one. Something named `ORIGIN` that is not a
/// service binding fails closed: falling back to `ORIGIN_URL` or the request's own URL
/// would send identified requests to an origin the operator did not choose (the npm
/// package's in-process wrapper sets `ORIGIN`; a minifier renaming its class must not
/// turn the wrapped app into a bypassed one).
fn origin_binding(env: &Env) -> Result<Option<Fetcher>, EdgeError> {
    let present = js_sys::Reflect::get(env, &JsValue::from_str("ORIGIN")).is_ok_and(|v| !v.is_undefined());
    if !present {
        return Ok(None);
    }
    env.service("ORIGIN").map(Some).map_err(|e| EdgeError::Internal(format!("ORIGIN is not a service binding: {e}")))
}

/// The forwarded request: the same method, exactly as the client sent it, and the same
/// body, streamed; the given URL and headers. Redirects are passed back to the browser,
/// never followed here. Identified requests bypass any cache on the way (a personalized
/// response must not be stored for someone else).
///
/// The method is the raw token, not the `worker` crate's `Method`, which reads every
/// method it does not know (`PROPFIND`, `QUERY`…) as `GET` and would forward it without
/// its body. A method the runtime refuses to send is a 501, never a silent `GET`.
fn rebuild(req: Request, url: &str, headers: Headers, identified: bool) -> Result<Request, EdgeError> {
    let method = req.inner().method();
    let mut init = RequestInit::new();
    init.with_headers(headers).with_redirect(RequestRedirect::Manual);
    if identified {
        init.with_cache(CacheMode::NoStore);
    }
    let init = web_sys::RequestInit::from(&init);
    init.set_method(&method);
    // Fetch forbids a body on GET and HEAD; every other method keeps its own.
    if method != "GET"
        && method != "HEAD"
        && let Some(body) = req.inner().body()
    {
        init.set_body(&body);
    }
    web_sys::Request::new_with_str_and_init(url, &init)
        .map(Request::from)
        .map_err(|_| EdgeError::MethodNotForwardable(method))
}
