"""ASGI middleware (Starlette, FastAPI): ``request.state.edge`` on every request.

    app.add_middleware(EdgeSessionMiddleware)          # ORIGIN_SECRET or EDGE_JWKS_URL, EDGE_URL from env

    @app.get("/api/me")
    def me(user: Identity = Depends(require_user())):  # 401 unless signed in
        return user.as_dict()

A handler logs in with ``request.state.edge.login(sub)``; the middleware puts the
directive on the response, whatever the handler returns. A sensitive action asks for a
recent sign-in: ``Depends(require_recent_auth(600))``; after asking for the password
again, ``request.state.edge.step_up(amr=["pwd"])`` makes it recent.
"""

import asyncio
from typing import Any, Awaitable, Callable, Literal, MutableMapping, Optional, TypeVar

from . import ASSERTION_HEADER, EdgeRequest, EdgeSession, Identity, _require_max_age

__all__ = ["EdgeSessionMiddleware", "require_recent_auth", "require_user"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class EdgeSessionMiddleware:
    """Pure ASGI middleware: no buffering, works under any ASGI framework."""

    def __init__(self, app: Any, edge: Optional[EdgeSession] = None) -> None:
        self.app = app
        self.edge = edge or EdgeSession()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
        def identify() -> EdgeRequest:
            return self.edge.request(lambda name: headers.get(name.lower()))

        # Fetching the JWKS (EDGE_JWKS_URL) blocks for up to 5 s: a request that could
        # fetch is verified in a thread, so the event loop goes on serving the others.
        if self.edge._may_fetch_jwks(headers.get(ASSERTION_HEADER.lower())):
            edge = await _in_thread(identify)
        else:
            edge = identify()
        scope.setdefault("state", {})["edge"] = edge

        async def send_with_directives(message: Message) -> None:
            if message["type"] == "http.response.start" and edge.response_headers:
                extra = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in edge.response_headers.items()]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_directives)


_T = TypeVar("_T")


async def _in_thread(call: Callable[[], _T]) -> _T:
    """``call()`` in a worker thread: anyio's (Starlette's, under asyncio or trio) when it
    is installed, else asyncio's."""
    try:
        import anyio.to_thread
    except ImportError:
        return await asyncio.to_thread(call)
    return await anyio.to_thread.run_sync(call)


def require_user(mode: Literal["api", "page"] = "api", login_url: str = "/login") -> Callable[..., Identity]:
    """A FastAPI dependency: the signed-in :class:`Identity`, else 401 JSON (``mode="api"``)
    or a 303 redirect to ``login_url`` (``mode="page"``)."""
    from starlette.exceptions import HTTPException
    from starlette.requests import Request

    # No `from __future__ import annotations` in this file: FastAPI reads this signature
    # at runtime, and a string annotation of a local name would make `request` a query
    # parameter.
    def dependency(request: Request) -> Identity:
        edge: Optional[EdgeRequest] = getattr(request.state, "edge", None)
        if edge is None:
            raise RuntimeError("require_user() needs EdgeSessionMiddleware")
        if edge.user is not None:
            return edge.user
        if mode == "page":
            raise HTTPException(status_code=303, headers={"Location": login_url, "Cache-Control": "no-store"})
        raise HTTPException(status_code=401, detail="not signed in", headers={"Cache-Control": "no-store"})

    return dependency


def require_recent_auth(max_age: float, mode: Literal["api", "page"] = "api",
                        login_url: str = "/login") -> Callable[..., Identity]:
    """A FastAPI dependency for a sensitive action: the :class:`Identity` of a user who
    signed in at most ``max_age`` seconds ago with no context change since
    (:meth:`EdgeRequest.signed_in_within`). Otherwise :func:`require_user`'s answer, and for
    a signed-in user 401 with ``detail`` "recent sign-in required" (or, ``mode="page"``, the
    303 to ``login_url``): ask for the password again, then
    ``request.state.edge.step_up(amr=["pwd"])`` makes the sign-in recent (same session)."""
    from starlette.exceptions import HTTPException
    from starlette.requests import Request

    _require_max_age(max_age)
    signed_in = require_user(mode, login_url)

    def dependency(request: Request) -> Identity:
        user = signed_in(request)
        edge: EdgeRequest = request.state.edge
        if edge.signed_in_within(max_age):
            return user
        if mode == "page":
            raise HTTPException(status_code=303, headers={"Location": login_url, "Cache-Control": "no-store"})
        raise HTTPException(status_code=401, detail="recent sign-in required", headers={"Cache-Control": "no-store"})

    return dependency
