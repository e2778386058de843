"""Flask extension: ``g.edge`` on every request, and a view decorator.

    edge = EdgeSessionExtension(app)     # ORIGIN_SECRET, EDGE_URL from env or app.config

    @app.get("/api/me")
    @require_user()
    def me():
        return g.edge.user.as_dict()

Configuration: ``app.config["EDGE_SESSION"] = {"secret": …, "audience": …, "edge_url":
…}``, else the environment.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Literal, Optional

from . import EdgeSession

__all__ = ["EdgeSessionExtension", "require_user"]


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

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            from flask import g, jsonify, redirect

            if g.get("edge") is None:
                raise RuntimeError("require_user() needs EdgeSessionExtension")
            if g.edge.user is not None:
                return view(*args, **kwargs)
            response = redirect(login_url, code=303) if mode == "page" else jsonify(error="not signed in")
            if mode != "page":
                response.status_code = 401
            response.headers["Cache-Control"] = "no-store"
            return response

        return wrapped

    return decorator
