"""A FastAPI app behind edge-session, written as a FastAPI user would: the middleware
once, ``Depends(require_user())`` where a route needs someone."""
import os
import socket

import uvicorn
from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import PlainTextResponse, RedirectResponse

from edge_session import EdgeSession, Identity
from edge_session.asgi import EdgeSessionMiddleware, require_user

edge = EdgeSession()  # ORIGIN_SECRET, EDGE_URL from the environment
app = FastAPI()
app.add_middleware(EdgeSessionMiddleware, edge=edge)


@app.get("/")
def home(request: Request):
    user = request.state.edge.user
    return {"framework": "fastapi", "user": user.as_dict() if user else None}


@app.post("/login")
def login(request: Request, username: str = Form(), remember: str = Form("")):
    request.state.edge.login(username, remember=remember == "on")
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
def revoke(sid: str = Form(), user: Identity = Depends(require_user())):
    return edge.revoke_session(user.sub, sid)


@app.post("/api/devices/sign-out-others")
def sign_out_others(user: Identity = Depends(require_user())):
    return edge.revoke_all(user.sub, except_sid=user.sid)


if __name__ == "__main__":
    # Bind first, so "app on" is printed only once connections are accepted.
    port = int(os.environ.get("PORT", "8794"))
    sock = socket.create_server(("127.0.0.1", port))
    print(f"fastapi app on {port}", flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
