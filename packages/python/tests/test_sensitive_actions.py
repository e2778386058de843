"""Issue 20, the origin's side: ``auth_time`` and ``amr`` on the user, a login that says how
the user proved who they are (``amr``), a recent sign-in required before a sensitive action
(FastAPI's ``require_recent_auth``, Flask's ``require_recent_auth``, Django's
``edge_recent_auth_required``), and a secret per job: directives signed with
``DIRECTIVE_SECRET``, admin tokens with ``ADMIN_SECRET``, each falling back to
``ORIGIN_SECRET``, which still verifies assertions.

    PYTHONPATH=packages/python/src .venv/bin/python -m unittest discover -s packages/python/tests -p test_sensitive_actions.py
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import threading
import unittest
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Callable, Iterator, Optional
from unittest import mock

from asgi_call import call_asgi
from edge_session import ASSERTION_HEADER, LOGIN_HEADER, LOGOUT_HEADER, NONCE_HEADER, EdgeRequest, EdgeSession, Identity

NOW = 1_700_000_000
ORIGIN_KEY = "origin-secret-0123456789abcdefghijklmnop"
ORIGIN = f"o1:{ORIGIN_KEY}"
DIRECTIVE_KEY = "directive-secret-0123456789abcdefghijklm"
DIRECTIVE = f"d2:{DIRECTIVE_KEY},d1:older-directive-secret-0123456789abcdef"
ADMIN_KEY = "admin-secret-0123456789abcdefghijklmnopq"
ADMIN = f"a1:{ADMIN_KEY}"
SID = "AAAAAAAAAAAAAAAAAAAAAA"
AMR_ERROR = r"^amr must be 1 to 8 names of \[A-Za-z0-9_.:-\]\{1,16\}$"


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mac(key: str, text: str) -> str:
    return b64u(hmac.new(key.encode(), text.encode(), hashlib.sha256).digest())


def part(jws: str, i: int) -> Any:
    text = jws.split(".")[i]
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def signed_by(jws: str, key: str) -> bool:
    """Whether ``jws``'s MAC is HMAC-SHA256 keyed with ``key``."""
    header, payload, signature = jws.split(".")
    return hmac.compare_digest(mac(key, f"{header}.{payload}"), signature)


def assertion(**over: Any) -> str:
    """An assertion as the edge signs it with ORIGIN_SECRET at NOW, ``over`` merged into its claims."""
    claims = {"iss": "edge-session", "aud": "origin", "sub": "alice", "sid": SID, "state": "fresh", "iat": NOW,
              "exp": NOW + 60, "jti": "j", **over}
    header = {"alg": "HS256", "typ": "JWT", "kid": "o1"}
    text = f"{b64u(json.dumps(header).encode())}.{b64u(json.dumps(claims).encode())}"
    return f"{text}.{mac(ORIGIN_KEY, text)}"


def edge_at(now: float = NOW, **options: Any) -> EdgeSession:
    """An EdgeSession at ``now``, with no job secret from the environment unless ``options`` names one."""
    settings: dict[str, Any] = {"secret": ORIGIN, "audience": "origin", "directive_secret": "", "admin_secret": "",
                                **options}
    return EdgeSession(clock=lambda: now, **settings)


def request(edge: EdgeSession, token: Optional[str] = None) -> EdgeRequest:
    """A request through the edge, identified by ``token`` if any."""
    headers = {NONCE_HEADER.lower(): "n0nce", ASSERTION_HEADER.lower(): token}
    return edge.request(lambda name: headers.get(name.lower()))


class Identities(unittest.TestCase):
    def test_the_user_carries_auth_time_and_amr_else_none(self) -> None:
        user = request(edge_at(), assertion(auth_time=NOW - 600.9, amr=["pwd", "otp"])).user
        assert user is not None
        self.assertEqual((user.auth_time, user.amr), (NOW - 601, ["pwd", "otp"]))
        self.assertEqual((user.as_dict()["auth_time"], user.as_dict()["amr"]), (NOW - 601, ["pwd", "otp"]))
        older = request(edge_at(), assertion()).user
        assert older is not None
        self.assertEqual((older.auth_time, older.amr), (None, None))
        for bad in [{"auth_time": "1700000000"}, {"auth_time": -1}, {"auth_time": True}, {"amr": "pwd"},
                    {"amr": ["pwd", 2]}, {"amr": {}}]:
            with self.subTest(bad=bad), self.assertLogs("edge_session", logging.WARNING) as logged:
                self.assertIsNone(request(edge_at(), assertion(**bad)).user)
            self.assertTrue(logged.output[0].endswith("edge_assertion_rejected: " + next(iter(bad)) + (
                " is not a NumericDate" if "auth_time" in bad else " is not an array of strings")), logged.output)


class LoginAmr(unittest.TestCase):
    def test_a_login_carries_amr_checked_as_the_edge_checks_it(self) -> None:
        edge = edge_at()
        self.assertEqual(part(edge.login_directive("n0nce", "ada", amr=["pwd", "otp"]), 1)["amr"], ["pwd", "otp"])
        names = ["pwd", "a.b:c_d-E9", "x" * 16]
        self.assertEqual(part(edge.login_directive("n0nce", "ada", amr=tuple(names)), 1)["amr"], names)
        self.assertEqual(len(part(edge.login_directive("n0nce", "ada", amr=["pwd"] * 8), 1)["amr"]), 8)
        self.assertNotIn("amr", part(edge.login_directive("n0nce", "ada", amr=None), 1))
        for amr in ["pwd", [], [1], ["a b"], ["x" * 17], ["pwd"] * 9, [""], ["pwd\n"], ["pwé"], [None], {"pwd": 1}]:
            with self.subTest(amr=amr), self.assertRaisesRegex(ValueError, AMR_ERROR):
                edge.login_directive("n0nce", "ada", amr=amr)  # type: ignore[arg-type]

    def test_through_the_request_and_a_refused_amr_sets_nothing(self) -> None:
        edge = request(edge_at())
        edge.login("ada", amr=["hwk"], remember=True)
        login = part(edge.response_headers[LOGIN_HEADER], 1)
        self.assertEqual((login["amr"], login["remember"]), (["hwk"], True))
        other = request(edge_at())
        with self.assertRaisesRegex(ValueError, AMR_ERROR):
            other.login("ada", amr=["no spaces"])
        self.assertEqual(other.response_headers, {})


class Answers(BaseHTTPRequestHandler):
    """The edge's admin API: answers 200 and records the bearer tokens."""

    tokens: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        type(self).tokens.append(self.headers["Authorization"].removeprefix("Bearer "))
        data = json.dumps({"sessions": [], "revoked": 0, "pending": 0}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def admin_api() -> Iterator[tuple[str, list[str]]]:
    """A local admin API: its URL, and the tokens it was sent."""
    Answers.tokens = []
    server = HTTPServer(("127.0.0.1", 0), Answers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", Answers.tokens
    finally:
        server.shutdown()
        server.server_close()


class SecretPerJob(unittest.TestCase):
    def test_directive_secret_signs_logins_logouts_and_the_bridges_login(self) -> None:
        with mock.patch.dict(os.environ, {"DIRECTIVE_SECRET": DIRECTIVE}):
            from_env = edge_at(directive_secret=None)
        for edge in (edge_at(directive_secret=DIRECTIVE), from_env):
            directives = [edge.login_directive("n0nce", "ada"), edge.logout_directive("n0nce"),
                          edge.logout_directive("n0nce", scope="everywhere", sub="ada")]
            signed_in = request(edge, assertion())
            assert signed_in.user is not None  # the assertion verified with ORIGIN_SECRET
            signed_in.logout(scope="everywhere")
            directives.append(signed_in.response_headers[LOGOUT_HEADER])
            anonymous = request(edge)
            self.assertTrue(anonymous.adopt("lee"))
            directives.append(anonymous.response_headers[LOGIN_HEADER])
            for jws in directives:
                self.assertEqual(part(jws, 0)["kid"], "d2", "the directive ring's first key")
                self.assertTrue(signed_by(jws, DIRECTIVE_KEY), "its MAC is the directive key's")
                self.assertFalse(signed_by(jws, ORIGIN_KEY), "not ORIGIN_SECRET's")
            # Admin tokens are not directives: ORIGIN_SECRET, as before.
            admin = edge.admin_token("ada", "list")
            self.assertEqual((part(admin, 0)["kid"], signed_by(admin, ORIGIN_KEY)), ("o1", True))

    def test_admin_secret_signs_admin_tokens_and_the_client_sends_them(self) -> None:
        with admin_api() as (url, sent):
            with mock.patch.dict(os.environ, {"ADMIN_SECRET": ADMIN}):
                from_env = edge_at(admin_secret=None, edge_url=url)
            for edge in (edge_at(admin_secret=ADMIN, edge_url=url), from_env):
                sent.clear()
                tokens = [edge.admin_token("ada", "list"), edge.admin_token("ada", "revoke", sid=SID)]
                edge.list_sessions("ada")
                edge.revoke_session("ada", SID)
                edge.revoke_all("ada", except_sid=SID)  # "sign out the other devices"
                self.assertEqual(len(sent), 3)
                for jws in [*tokens, *sent]:
                    self.assertEqual((part(jws, 0)["kid"], signed_by(jws, ADMIN_KEY), signed_by(jws, ORIGIN_KEY)),
                                     ("a1", True, False))
                # Directives are not admin tokens: ORIGIN_SECRET, as before.
                login = edge.login_directive("n0nce", "ada")
                self.assertEqual((part(login, 0)["kid"], signed_by(login, ORIGIN_KEY)), ("o1", True))

    def test_unset_or_blank_origin_secret_signs_everything(self) -> None:
        for env in ({}, {"DIRECTIVE_SECRET": " \n", "ADMIN_SECRET": ""}):
            with self.subTest(env=env), mock.patch.dict(os.environ, env, clear=True):
                edge = EdgeSession(secret=ORIGIN, clock=lambda: NOW)
                for jws in (edge.login_directive("n0nce", "ada"), edge.logout_directive("n0nce"),
                            edge.admin_token("ada", "list")):
                    self.assertEqual((part(jws, 0)["kid"], signed_by(jws, ORIGIN_KEY)), ("o1", True))

    def test_a_malformed_one_fails_at_construction_naming_the_variable_never_the_secret(self) -> None:
        for name in ("DIRECTIVE_SECRET", "ADMIN_SECRET"):
            for bad in ("d1:s3cr3t-too-short", "s3cr3t-without-a-kid-0123456789abcdefgh",
                        f"d1:{DIRECTIVE_KEY},d1:{ADMIN_KEY}"):
                with self.subTest(name=name, bad=bad):
                    with mock.patch.dict(os.environ, {name: bad}):
                        attempts: list[Callable[[], EdgeSession]] = [
                            lambda: edge_at(**{name.lower(): bad}), lambda: edge_at(**{name.lower(): None})]
                        for attempt in attempts:
                            with self.assertRaises(ValueError) as raised:
                                attempt()
                            message = str(raised.exception)
                            self.assertTrue(message.startswith(f"{name} "), message)
                            self.assertNotIn("s3cr3t", message)
                            self.assertNotIn(DIRECTIVE_KEY, message)


class SignedInWithin(unittest.TestCase):
    def within(self, max_age: float, now: float = NOW, **claims: Any) -> bool:
        return request(edge_at(now), assertion(**claims)).signed_in_within(max_age)

    def test_auth_time_within_max_age_by_the_clock_and_no_context_change_since(self) -> None:
        self.assertTrue(self.within(600, auth_time=NOW - 600), "exactly max_age ago")
        self.assertFalse(self.within(600, auth_time=NOW - 601))
        self.assertTrue(self.within(600, NOW + 0.9, auth_time=NOW - 600), "the clock in whole seconds")
        self.assertFalse(self.within(600), "no auth_time")
        self.assertFalse(self.within(600, auth_time=NOW - 10, context_changed=NOW - 5), "changed context after")
        self.assertTrue(self.within(600, auth_time=NOW - 10, context_changed=NOW - 10), "changed, then signed in")
        self.assertTrue(self.within(600, auth_time=NOW - 10, context_changed=None))
        self.assertFalse(request(edge_at()).signed_in_within(600), "anonymous")
        for bad in (None, "600", -1, float("nan"), True):
            with self.subTest(max_age=bad), self.assertRaisesRegex(ValueError, "max_age"):
                request(edge_at(), assertion(auth_time=NOW)).signed_in_within(bad)  # type: ignore[arg-type]

    def test_an_auth_time_more_than_30_s_ahead_is_refused(self) -> None:
        # 30 s of clock skew either way, as for the assertion's own times (the Rust crate's
        # EdgeUser::signed_in_within). Beyond it, an origin whose clock lags would take the
        # sign-in as recent for longer than max_age: here for the hour its clock is behind.
        self.assertTrue(self.within(600, auth_time=NOW + 30), "within the skew")
        self.assertFalse(self.within(600, auth_time=NOW + 31))
        self.assertFalse(self.within(600, auth_time=NOW + 3600), "an origin an hour behind the edge")
        self.assertFalse(self.within(10**9, auth_time=NOW + 31), "however large max_age")
        self.assertTrue(self.within(600, NOW + 0.9, auth_time=NOW + 30), "the clock in whole seconds")
        self.assertTrue(self.within(600, NOW + 1, auth_time=NOW + 31))


# The cases every integration answers alike: (name, assertion claims (None: anonymous),
# mode, status, error or location), guarded by a recent sign-in of 600 s at NOW.
CASES: list[tuple[str, Optional[dict[str, Any]], str, int, Optional[str]]] = [
    ("signed in 600 s ago", {"auth_time": NOW - 600, "amr": ["pwd"]}, "api", 200, None),
    ("signed in, then a context change before it", {"auth_time": NOW - 60, "context_changed": NOW - 61}, "api", 200,
     None),
    ("anonymous", None, "api", 401, "not signed in"),
    ("signed in 601 s ago", {"auth_time": NOW - 601}, "api", 401, "recent sign-in required"),
    ("no auth_time (an older edge)", {}, "api", 401, "recent sign-in required"),
    ("a context change since the sign-in", {"auth_time": NOW - 60, "context_changed": NOW - 30}, "api", 401,
     "recent sign-in required"),
    ("an auth_time 31 s ahead of the clock", {"auth_time": NOW + 31}, "api", 401, "recent sign-in required"),
    ("a page, signed in too long ago", {"auth_time": NOW - 601}, "page", 303, "/login?again=1"),
    ("a page, anonymous", None, "page", 303, "/login?again=1"),
]


def headers_of(claims: Optional[dict[str, Any]]) -> dict[str, str]:
    return {NONCE_HEADER: "n0nce", **({ASSERTION_HEADER: assertion(**claims)} if claims is not None else {})}


class Frameworks(unittest.TestCase):
    def check(self, case: tuple[str, Any, str, int, Optional[str]], status: int, headers: Any, body: bytes,
              key: str = "error") -> None:
        """One answer against a case; ``key`` is where the framework puts the error (FastAPI: ``detail``)."""
        name, _, _, expected_status, expected = case
        self.assertEqual(status, expected_status, name)
        if status == 200:
            return
        self.assertEqual(headers.get("cache-control"), "no-store", name)
        if status == 303:
            self.assertEqual(headers.get("location"), expected, name)
            return
        self.assertTrue(headers.get("content-type", "").startswith("application/json"), name)
        self.assertEqual(json.loads(body), {key: expected}, name)

    def test_fastapi(self) -> None:
        from fastapi import Depends, FastAPI
        from fastapi.responses import PlainTextResponse

        from edge_session.asgi import EdgeSessionMiddleware, require_recent_auth

        for case in CASES:
            app = FastAPI()
            app.add_middleware(EdgeSessionMiddleware, edge=edge_at())
            guard = require_recent_auth(600, mode=case[2], login_url="/login?again=1")  # type: ignore[arg-type]

            @app.get("/sensitive")
            def sensitive(user: Identity = Depends(guard)) -> PlainTextResponse:
                return PlainTextResponse(f"ok {user.sub}")

            status, headers, body = asyncio.run(call_asgi(app, "/sensitive", headers_of(case[1])))
            self.check(case, status, headers, body, key="detail")
            if status == 200:
                self.assertEqual(body, b"ok alice")
        with self.assertRaisesRegex(ValueError, "max_age"):
            require_recent_auth(-1)

    def test_flask(self) -> None:
        from flask import Flask

        from edge_session.flask import EdgeSessionExtension, require_recent_auth

        for case in CASES:
            app = Flask(__name__)
            EdgeSessionExtension(app, edge=edge_at())

            @app.get("/sensitive")
            @require_recent_auth(600, mode=case[2], login_url="/login?again=1")  # type: ignore[arg-type]
            def sensitive() -> str:
                return "ok"

            response = app.test_client().get("/sensitive", headers=headers_of(case[1]))
            self.check(case, response.status_code, response.headers, response.data)
        with self.assertRaisesRegex(ValueError, "max_age"):
            require_recent_auth("600")  # type: ignore[arg-type]

    def test_django(self) -> None:
        import django
        from django.conf import settings
        from django.http import HttpResponse
        from django.test import RequestFactory

        if not settings.configured:
            settings.configure(ALLOWED_HOSTS=["*"], SECRET_KEY="test", DEFAULT_CHARSET="utf-8")
            django.setup()
        from edge_session.django import EdgeSessionMiddleware, edge_recent_auth_required

        edge_session = {"secret": ORIGIN, "clock": lambda: NOW, "directive_secret": DIRECTIVE, "admin_secret": ""}
        with self.settings(EDGE_SESSION=edge_session):
            for case in CASES:
                view = edge_recent_auth_required(600, mode=case[2], login_url="/login?again=1")(  # type: ignore[arg-type]
                    lambda request: HttpResponse("ok"))
                middleware = EdgeSessionMiddleware(view)
                response = middleware(RequestFactory().get("/sensitive", headers=headers_of(case[1])))
                self.check(case, response.status_code, response.headers, response.content)
            # settings.EDGE_SESSION's directive_secret signs the middleware's logins.
            login = EdgeSessionMiddleware(lambda request: (request.edge.login("ada"), HttpResponse("ok"))[1])(
                RequestFactory().get("/login", headers={NONCE_HEADER: "n0nce"}))[LOGIN_HEADER]
            self.assertEqual((part(login, 0)["kid"], signed_by(login, DIRECTIVE_KEY)), ("d2", True))
        with self.assertRaisesRegex(ValueError, "max_age"):
            edge_recent_auth_required(float("nan"))

    def settings(self, **values: Any) -> Any:
        from django.test import override_settings

        return override_settings(**values)


if __name__ == "__main__":
    unittest.main()
