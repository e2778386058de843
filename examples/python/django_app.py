"""A Django app behind edge-session, in one file (settings, views, URLs) for brevity;
in a project the middleware line goes in settings.py and the views in views.py."""
import os
import sys

from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "dev-only-not-secret"),
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[
        "django.middleware.common.CommonMiddleware",
        "edge_session.django.EdgeSessionMiddleware",
    ],
    # ORIGIN_SECRET (or EDGE_JWKS_URL, with DIRECTIVE_SECRET and ADMIN_SECRET) and
    # EDGE_URL come from the environment; or:
    # EDGE_SESSION={"secret": ..., "edge_url": "https://app.example"},
)

from django.http import HttpResponse, HttpResponseRedirect, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.http import require_GET, require_POST  # noqa: E402

from edge_session.django import edge_login_required, edge_recent_auth_required  # noqa: E402

# Signing other devices out asks for a sign-in this recent (seconds; 10 minutes).
RECENT_AUTH_SECS = int(os.environ.get("RECENT_AUTH_SECS", "600"))


def see_other(url):
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


@require_GET
def home(request):
    user = request.edge.user
    return JsonResponse({"framework": "django", "user": user.as_dict() if user else None})


@require_POST
def login(request):
    # … after checking the password:
    request.edge.login(request.POST["username"], remember=request.POST.get("remember") == "on", amr=["pwd"])
    return see_other("/")


@require_POST
def logout(request):
    request.edge.logout()
    return see_other("/")


@require_GET
@edge_login_required()
def me(request):
    return JsonResponse({"framework": "django", **request.edge.user.as_dict()})


@require_GET
@edge_login_required(mode="page", login_url="/login")
def account(request):
    return HttpResponse(f"Account of {request.edge.user.sub}", content_type="text/plain")


@require_GET
@edge_login_required()
def devices(request):
    user = request.edge.user
    return JsonResponse({"current": user.sid, "sessions": request.edge.edge.list_sessions(user.sub)})


@require_POST
@edge_recent_auth_required(RECENT_AUTH_SECS)
def revoke(request):
    return JsonResponse(request.edge.edge.revoke_session(request.edge.user.sub, request.POST["sid"]))


@require_POST
@edge_recent_auth_required(RECENT_AUTH_SECS)
def sign_out_others(request):
    user = request.edge.user
    return JsonResponse(request.edge.edge.revoke_all(user.sub, except_sid=user.sid))


# "Confirm it's you": where a sensitive action sends a user whose sign-in is not recent.
# After checking the password again, the step-up moves this session's auth_time to now.
# This example has no passwords: check one here, or anyone holding the session (a
# copied cookie jar too) makes itself recent.
@require_POST
@edge_login_required()
def confirm(request):
    request.edge.step_up(amr=["pwd"])
    return see_other("/")


urlpatterns = [
    path("", home),
    path("login", login),
    path("logout", logout),
    path("api/me", me),
    path("account", account),
    path("api/devices", devices),
    path("api/devices/revoke", revoke),
    path("api/devices/sign-out-others", sign_out_others),
    path("confirm", confirm),
]

if __name__ == "__main__":
    from wsgiref.simple_server import make_server

    from django.core.wsgi import get_wsgi_application

    port = int(os.environ.get("PORT", "8796"))
    server = make_server("127.0.0.1", port, get_wsgi_application())
    print(f"django app on {port}", flush=True)
    sys.stdout.flush()
    server.serve_forever()
