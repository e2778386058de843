"""Flask extension: ``g.edge`` on every request, and a view decorator.

    edge = EdgeSessionExtension(app)     # ORIGIN_SECRET or EDGE_JWKS_URL, EDGE_URL from env or app.config

    @app.get("/api/me")
    @require_user()
    def me():
        return g.edge.user.as_dict()

    @app.post("/devices/sign-out-others")
    @require_recent_auth(600)            # signed in at most 10 minutes ago
    def sign_out_others(): ...

Configuration: ``app.config["EDGE_SESSION"] = {"secret": …, "jwks_url": …, "audience": …,
"edge_url": …, "directive_secret": …, "admin_secret": …}``, else the environment.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Literal, Optional

from . import EdgeSession, _require_max_age

__all__ = ["EdgeSessionExtension", "require_recent_auth", "require_user"]


class EdgeSessionExtension:
    def __init__(self, app: Any = None, edge: Optional[EdgeSession] = None) -> None:
        self.edge = edge
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Any) -> None:
        from flask import g, request

        if self.edge is None:
            self.edge = EdgeSession(**app.config.get("EDGE_SESSION", {}))
        edge = self.edge

        def identify() -> None:
            g.edge = edge.request(request.headers.get)

        def add_directives(response: Any) -> Any:
            current = g.get("edge")
            if current is not None:
                for name, value in current.response_headers.items():
                    response.headers[name] = value
            return response

        app.before_request(identify)
        app.after_request(add_directives)


def require_user(mode: Literal["api", "page"] = "api", login_url: str = "/login") -> Callable[..., Any]:
    """Lets only a signed-in request through: 401 JSON (``mode="api"``) or a redirect."""
    return _guard("require_user()", None, mode, login_url)


def require_recent_auth(max_age: float, mode: Literal["api", "page"] = "api",
                        login_url: str = "/login") -> Callable[..., Any]:
    """For a sensitive action: lets a request through only if its user signed in at most
    ``max_age`` seconds ago with no context change since (``g.edge.signed_in_within``).
    Otherwise :func:`require_user`'s answer, and for a signed-in user 401
    ``{"error": "recent sign-in required"}`` (or the redirect): ask for the password
    again, then ``g.edge.step_up(amr=["pwd"])`` makes the sign-in recent (same session)."""
    _require_max_age(max_age)
    return _guard("require_recent_auth()", max_age, mode, login_url)


def _guard(name: str, max_age: Optional[float], mode: Literal["api", "page"], login_url: str) -> Callable[..., Any]:
    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            from flask import g, jsonify, redirect

            if g.get("edge") is None:
                raise RuntimeError(f"{name} needs EdgeSessionExtension")
            if g.edge.user is None:
                error = "not signed in"
            elif max_age is not None and not g.edge.signed_in_within(max_age):
                error = "recent sign-in required"
            else:
                return view(*args, **kwargs)
            response = redirect(login_url, code=303) if mode == "page" else jsonify(error=error)
            if mode != "page":
                response.status_code = 401
            response.headers["Cache-Control"] = "no-store"
            return response

        return wrapped

    return decorator
