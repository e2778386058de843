"""A FastAPI app behind edge-session, written as a FastAPI user would: the middleware
once, ``Depends(require_user())`` where a route needs someone."""
import os
import socket
import threading
import time
from typing import Optional

import uvicorn
from fastapi import Depends, FastAPI, Form, HTTPException, Request, Response
from fastapi.responses import PlainTextResponse, RedirectResponse

from edge_session import AssertionRefused, EdgeSession, Identity
from edge_session.asgi import EdgeSessionMiddleware, require_recent_auth, require_user

# Signing other devices out asks for a sign-in this recent (seconds; 10 minutes).
RECENT_AUTH_SECS = int(os.environ.get("RECENT_AUTH_SECS", "600"))
# ORIGIN_SECRET (or EDGE_JWKS_URL, with DIRECTIVE_SECRET and ADMIN_SECRET), EDGE_URL and
# EVENTS_SECRET from the environment.
edge = EdgeSession()
app = FastAPI()
app.add_middleware(EdgeSessionMiddleware, edge=edge)


@app.get("/")
def home(request: Request):
    user = request.state.edge.user
    return {"framework": "fastapi", "user": user.as_dict() if user else None}


@app.post("/login")
def login(request: Request, username: str = Form(), remember: str = Form("")):
    # … after checking the password:
    request.state.edge.login(username, remember=remember == "on", amr=["pwd"])
    return RedirectResponse("/", status_code=303)


@app.post("/logout")
def logout(request: Request):
    request.state.edge.logout()
    return RedirectResponse("/", status_code=303)


@app.get("/api/me")
def me(user: Identity = Depends(require_user())):
    return {"framework": "fastapi", **user.as_dict()}


@app.get("/account", response_class=PlainTextResponse)
def account(user: Identity = Depends(require_user(mode="page", login_url="/login"))):
    return f"Account of {user.sub}"


# Plain `def`: FastAPI runs these in its threadpool, so the admin call does not block the loop.
@app.get("/api/devices")
def devices(user: Identity = Depends(require_user())):
    return {"current": user.sid, "sessions": edge.list_sessions(user.sub)}


@app.post("/api/devices/revoke")
def revoke(sid: str = Form(), user: Identity = Depends(require_recent_auth(RECENT_AUTH_SECS))):
    return edge.revoke_session(user.sub, sid)


@app.post("/api/devices/sign-out-others")
def sign_out_others(user: Identity = Depends(require_recent_auth(RECENT_AUTH_SECS))):
    return edge.revoke_all(user.sub, except_sid=user.sid)


# "Confirm it's you": where a sensitive action sends a user whose sign-in is not recent.
# After checking the password again, the step-up moves this session's auth_time to now.
# This example has no passwords: check one here, or anyone holding the session (a
# copied cookie jar too) makes itself recent.
@app.post("/confirm")
def confirm(request: Request, user: Identity = Depends(require_user())):
    request.state.edge.step_up(amr=["pwd"])
    return RedirectResponse("/", status_code=303)


# Security events: the edge POSTs each one here (its EVENTS_URL), signed with
# EVENTS_SECRET, at least once. Both stores are in memory for the example only: in
# production they live in the database the app's instances share (a unique jti column).
DAY = 86_400
seen_events: dict[str, float] = {}  # jti → when it came: a redelivery has the same jti, for up to a day
notices: dict[str, list[dict]] = {}  # sub → [{jti, type, text, sid, time}], newest first
notices_lock = threading.Lock()  # /api/notices runs in the threadpool
# A test knob for "a receiver that is down for a while": the first n deliveries get a 503
# unread, and the edge retries them (2 s, 5 s, 10 s, …).
fail_first = int(os.environ.get("EVENTS_FAIL_FIRST", "0"))


def notice_text(event: dict) -> Optional[str]:
    """The notice an event becomes, or None (session.revoked: the user or the app asked for it)."""
    device = event["device"]
    where = f"{device.get('browser') or 'unknown'} on {device.get('os') or 'unknown'}, {device.get('country') or 'unknown'}"
    if event["type"] == "session.created":
        return f"New sign-in: {where}"
    if event["type"] in ("session.reuse_detected", "session.copied_jar", "session.context_changed"):
        return f"Was this you? {event['type']} from {where}"
    return None  # and a type this app does not know (a later edge may add some)


@app.post("/events")
async def events(request: Request) -> Response:
    global fail_first
    if fail_first > 0:
        fail_first -= 1
        return Response(status_code=503)
    try:
        event = edge.parse_event(await request.body())
    except AssertionRefused:
        raise HTTPException(401) from None
    now = time.time()
    with notices_lock:
        for jti in [jti for jti, at in seen_events.items() if at < now - DAY]:
            del seen_events[jti]
        if event["jti"] in seen_events:
            return Response(status_code=204)  # a duplicate: dropped
        seen_events[event["jti"]] = now
        text = notice_text(event)
        if text is not None:
            notice = {"jti": event["jti"], "type": event["type"], "text": text, "sid": event["sid"], "time": event["time"]}
            # Newest first by the event's time (a retried one can arrive late); 50 per user.
            mine = [notice, *notices.get(event["sub"], [])]
            notices[event["sub"]] = sorted(mine, key=lambda n: -n["time"])[:50]
    return Response(status_code=204)  # a 2xx, or the edge retries


@app.get("/api/notices")
def my_notices(user: Identity = Depends(require_user())):
    with notices_lock:
        return notices.get(user.sub, [])


if __name__ == "__main__":
    # Bind first, so "app on" is printed only once connections are accepted.
    port = int(os.environ.get("PORT", "8794"))
    sock = socket.create_server(("127.0.0.1", port))
    print(f"fastapi app on {port}", flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
