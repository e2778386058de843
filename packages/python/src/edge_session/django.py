"""Django middleware: ``request.edge`` on every request, and a view decorator.

    MIDDLEWARE = [..., "edge_session.django.EdgeSessionMiddleware"]

    @edge_login_required(mode="api")
    def me(request):
        return JsonResponse(request.edge.user.as_dict())

Configuration comes from the environment (``ORIGIN_SECRET``, ``ORIGIN_AUDIENCE``,
``EDGE_URL``), or from ``settings.EDGE_SESSION = {"secret": …, "audience": …,
"edge_url": …}``.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Literal

from . import EdgeSession

__all__ = ["EdgeSessionMiddleware", "edge_login_required"]


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
    from django.http import HttpResponseRedirect, JsonResponse  # type: ignore[import-untyped]

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(request: Any, *args: Any, **kwargs: Any) -> Any:
            if getattr(request, "edge", None) is None:
                raise RuntimeError("edge_login_required needs EdgeSessionMiddleware")
            if request.edge.user is not None:
                return view(request, *args, **kwargs)
            if mode == "page":
                response = HttpResponseRedirect(login_url)
                response.status_code = 303
            else:
                response = JsonResponse({"error": "not signed in"}, status=401)
            response["Cache-Control"] = "no-store"
            return response

        return wrapped

    return decorator
