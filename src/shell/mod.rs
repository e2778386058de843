//! The wasm shell (DESIGN §1): the only code that talks to the Workers runtime.
//!
//! For now a minimal pass-through that proves the build/run pipeline: `/__edge/health`
//! answers `ok` from the edge itself, and every other request goes on to its own URL,
//! as behind a Workers route in front of the origin (DESIGN §4).

use worker::{event, Context, Env, Fetch, Request, Response, Result};

/// Path answered by the edge itself, never forwarded.
const HEALTH_PATH: &str = "/__edge/health";

/// Marks a request this worker forwarded. On Cloudflare a subrequest to the route's own
/// URL goes to the origin, but under local `wrangler dev` with no route or upstream it
/// comes back to this worker and recurses without end (seen: both cores busy, workerd
/// at 1.5 GB within 40 s). The marker turns that into one hop and a 508.
/// (Outside the `X-Edge-*` identity namespace, which is stripped from inbound requests.)
const HOP_HEADER: &str = "edge-session-hop";

#[event(fetch)]
async fn fetch(req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    if req.path() == HEALTH_PATH {
        return Response::ok("ok");
    }
    if req.headers().has(HOP_HEADER)? {
        return Response::error("edge-session: no origin, request looped back", 508);
    }
    let mut forwarded = req.clone_mut()?;
    forwarded.headers_mut()?.set(HOP_HEADER, "1")?;
    Fetch::Request(forwarded).send().await
}
