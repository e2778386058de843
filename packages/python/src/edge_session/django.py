"""Django middleware: ``request.edge`` on every request, and a view decorator.

    MIDDLEWARE = [..., "edge_session.django.EdgeSessionMiddleware"]

    @edge_login_required(mode="api")
    def me(request):
        return JsonResponse(request.edge.user.as_dict())

    @edge_recent_auth_required(600)      # signed in at most 10 minutes ago
    def sign_out_others(request): ...

Configuration comes from the environment (``ORIGIN_SECRET``, ``EDGE_JWKS_URL``,
``EDGE_JWKS``, ``ORIGIN_AUDIENCE``, ``EDGE_URL``, ``DIRECTIVE_SECRET``, ``ADMIN_SECRET``),
or from ``settings.EDGE_SESSION = {"secret": …, "jwks_url": …, "audience": …, "edge_url":
…, "directive_secret": …, "admin_secret": …}``.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Literal, Optional

from . import EdgeSession, _require_max_age

__all__ = ["EdgeSessionMiddleware", "edge_login_required", "edge_recent_auth_required"]


class EdgeSessionMiddleware:
    def __init__(self, get_response: Callable[..., Any]) -> None:
        from django.conf import settings  # type: ignore[import-untyped]

        self.get_response = get_response
        self.edge = EdgeSession(**getattr(settings, "EDGE_SESSION", {}))

    def __call__(self, request: Any) -> Any:
        edge = self.edge.request(request.headers.get)
        request.edge = edge
        response = self.get_response(request)
        for name, value in edge.response_headers.items():
            response[name] = value
        return response


def edge_login_required(mode: Literal["api", "page"] = "api", login_url: str = "/login") -> Callable[..., Any]:
    """Lets only a signed-in request through: 401 JSON (``mode="api"``) or a redirect."""
    return _guard("edge_login_required", None, mode, login_url)


def edge_recent_auth_required(max_age: float, mode: Literal["api", "page"] = "api",
                              login_url: str = "/login") -> Callable[..., Any]:
    """For a sensitive action: lets a request through only if its user signed in at most
    ``max_age`` seconds ago with no context change since (``request.edge.signed_in_within``).
    Otherwise :func:`edge_login_required`'s answer, and for a signed-in user 401
    ``{"error": "recent sign-in required"}`` (or the redirect): ask for the password
    again, then ``request.edge.step_up(amr=["pwd"])`` makes the sign-in recent (same
    session)."""
    _require_max_age(max_age)
    return _guard("edge_recent_auth_required", max_age, mode, login_url)


def _guard(name: str, max_age: Optional[float], mode: Literal["api", "page"], login_url: str) -> Callable[..., Any]:
    from django.http import HttpResponseRedirect, JsonResponse  # type: ignore[import-untyped]

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(request: Any, *args: Any, **kwargs: Any) -> Any:
            if getattr(request, "edge", None) is None:
                raise RuntimeError(f"{name} needs EdgeSessionMiddleware")
            if request.edge.user is None:
                error = "not signed in"
            elif max_age is not None and not request.edge.signed_in_within(max_age):
                error = "recent sign-in required"
            else:
                return view(request, *args, **kwargs)
            if mode == "page":
                response = HttpResponseRedirect(login_url)
                response.status_code = 303
            else:
                response = JsonResponse({"error": error}, status=401)
            response["Cache-Control"] = "no-store"
            return response

        return wrapped

    return decorator
