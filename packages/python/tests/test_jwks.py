"""ES256 assertions verified with the edge's JWKS (``EDGE_JWKS_URL``, ``EDGE_JWKS``): the
fetch over real HTTP (a server on 127.0.0.1 in this test), its cache, cooldown and
failures, the URL rule, a verify-only service, and the framework adapters with a JWKS
alone.

The keys are made here with ``cryptography`` and tokens signed with it directly (DER
signature turned into ``r || s`` by hand), not with the package's code or PyJWT, so the
oracle shares nothing with the verifier but the curve. The package's clock is moved by
hand, so the 5-minute cache, the 30 s cooldown and the 24 hours that kept keys verify
are crossed without sleeping.

    PYTHONPATH=packages/python/src .venv/bin/python -m unittest discover -s packages/python/tests -p test_jwks.py
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import socket
import threading
import time
import unittest
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator, Optional
from unittest import mock

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

import edge_session._jwks
from asgi_call import call_asgi
from edge_session import ASSERTION_HEADER, LOGIN_HEADER, NONCE_HEADER, EdgeSession, Identity

T0 = 1_700_000_000.0
DAY = 24 * 3600.0
SID = "AAAAAAAAAAAAAAAAAAAAAA"
MARKER = "leak-me-not"  # in every failing answer's body: it must never reach the log
CONFIG_NAMES = ("ORIGIN_SECRET", "EDGE_JWKS", "EDGE_JWKS_URL", "DIRECTIVE_SECRET", "ADMIN_SECRET")
TABLE: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "conformance" / "vectors.json").read_text("utf-8"))


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Key:
    """A P-256 key pair made for this test, and its public JWK."""

    def __init__(self, kid: str):
        self.kid = kid
        self.private = ec.generate_private_key(ec.SECP256R1())
        numbers = self.private.public_key().public_numbers()
        self.jwk = {"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
                    "x": b64u(numbers.x.to_bytes(32, "big")), "y": b64u(numbers.y.to_bytes(32, "big"))}

    def sign(self, now: float, kid: Optional[str] = "", **over: Any) -> str:
        """An assertion as the edge signs it at ``now``; ``kid`` "" is this key's, None none."""
        header: dict[str, Any] = {"alg": "ES256", "typ": "JWT"}
        if kid is not None:
            header["kid"] = kid or self.kid
        claims = {"iss": "edge-session", "aud": "origin", "sub": "alice", "sid": SID, "state": "fresh",
                  "iat": int(now), "exp": int(now) + 60, "jti": secrets.token_hex(4), **over}
        text = f"{b64u(json.dumps(header).encode())}.{b64u(json.dumps(claims).encode())}"
        r, s = decode_dss_signature(self.private.sign(text.encode(), ec.ECDSA(hashes.SHA256())))
        return f"{text}.{b64u(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def jwks_of(*keys: Key) -> str:
    """The JWKS text, as the edge serves it and EDGE_JWKS holds it."""
    return json.dumps({"keys": [key.jwk for key in keys]})


class Server:
    """A JWKS server on a loopback port: what it answers is set by the test (``status``,
    ``body``, ``delay`` before answering, ``drip`` a byte at a time); ``hits`` counts the
    requests for ``/__edge/jwks.json``."""

    def __init__(self, host: str = "127.0.0.1"):
        self.status, self.body, self.delay, self.drip, self.location = 200, b'{"keys": []}', 0.0, False, ""
        self.hits = 0
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if self.path == "/__edge/jwks.json":
                    with owner._lock:
                        owner.hits += 1
                time.sleep(owner.delay)
                try:
                    self.send_response(owner.status)
                    if owner.location:
                        self.send_header("Location", owner.location)
                    self.send_header("Content-Type", "application/jwk-set+json")
                    if owner.drip:  # no length: the body runs until the connection closes
                        self.send_header("Connection", "close")
                        self.end_headers()
                        for byte in owner.body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(0.1)
                        return
                    self.send_header("Content-Length", str(len(owner.body)))
                    self.end_headers()
                    self.wfile.write(owner.body)
                except OSError:  # the client gave up
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server_class = type("Server", (ThreadingHTTPServer,), {"address_family": family, "daemon_threads": True})
        self._server = server_class((host, 0), Handler)
        self.port = self._server.server_address[1]
        bracketed = f"[{host}]" if ":" in host else host
        self.url = f"http://{bracketed}:{self.port}/__edge/jwks.json"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def serve(self, *keys: Key) -> None:
        self.status, self.body = 200, jwks_of(*keys).encode()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def serving(*keys: Key, host: str = "127.0.0.1") -> Iterator[Server]:
    server = Server(host)
    server.serve(*keys)
    try:
        yield server
    finally:
        server.stop()


class Clock:
    """The package's clock option, moved by the test."""

    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class Log(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def reader(token: Optional[str], nonce: Optional[str] = None) -> Any:
    headers = {ASSERTION_HEADER.lower(): token, NONCE_HEADER.lower(): nonce}
    return lambda name: headers.get(name.lower())


def hs256(key: str, kid: str, now: float) -> str:
    """An HS256 assertion, as the edge signs it with ORIGIN_SECRET."""
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    claims = {"iss": "edge-session", "aud": "origin", "sub": "alice", "sid": SID, "state": "fresh",
              "iat": int(now), "exp": int(now) + 60}
    text = f"{b64u(json.dumps(header).encode())}.{b64u(json.dumps(claims).encode())}"
    return f"{text}.{b64u(hmac.new(key.encode(), text.encode(), hashlib.sha256).digest())}"


class JwksTest(unittest.TestCase):
    """Each test starts from an environment without edge-session's variables, and keeps
    what the package logs (logger ``edge_session``)."""

    def setUp(self) -> None:
        environment = mock.patch.dict(os.environ, {})
        environment.start()
        self.addCleanup(environment.stop)
        for name in CONFIG_NAMES:
            os.environ.pop(name, None)
        self.log = Log()
        logger = logging.getLogger("edge_session")
        logger.addHandler(self.log)
        logger.propagate = False
        self.addCleanup(setattr, logger, "propagate", True)
        self.addCleanup(logger.removeHandler, self.log)
        self.clock = Clock()
        self.k1, self.k2 = Key("k1"), Key("k2")
        self.last_failure = ""

    def events(self) -> list[str]:
        """The events logged since the last call (the text before the first ':'); the
        last ``edge_jwks_unavailable`` message is kept in ``last_failure``."""
        messages, self.log.messages = self.log.messages, []
        for message in messages:
            self.assertNotIn(MARKER, message, "a response body reached the log")
            if message.startswith("edge_jwks_unavailable"):
                self.last_failure = message
        return [message.split(":")[0] for message in messages]

    def edge(self, **options: Any) -> EdgeSession:
        return EdgeSession(audience="origin", clock=self.clock, **options)

    def user(self, edge: EdgeSession, token: str) -> Optional[str]:
        identity = edge.identify(reader(token))
        return identity.sub if identity else None

    def at(self, seconds: float) -> None:
        self.clock.now = T0 + seconds


class Fetching(JwksTest):
    def test_fetched_on_first_use_then_kept_five_minutes(self) -> None:
        with serving(self.k1) as server:
            edge = self.edge(jwks_url=server.url)
            self.assertEqual(server.hits, 0, "fetched at startup: the edge may start later")
            self.assertEqual(self.user(edge, self.k1.sign(self.clock())), "alice")
            self.assertEqual(server.hits, 1)
            for seconds in (1, 60, 299):
                self.at(seconds)
                self.assertEqual(self.user(edge, self.k1.sign(self.clock())), "alice")
            self.assertEqual(server.hits, 1, "fetched again within the 5 minutes")
            self.at(300)
            self.assertEqual(self.user(edge, self.k1.sign(self.clock())), "alice")
            self.assertEqual(server.hits, 2, "not fetched again after 5 minutes")
            self.assertEqual(self.events(), [])

    def test_an_hs256_or_malformed_assertion_never_fetches(self) -> None:
        with serving(self.k1) as server:
            edge = self.edge(jwks_url=server.url)
            good = self.k1.sign(self.clock())
            head, payload, signature = good.split(".")
            der = b64u(self.k1.private.sign(f"{head}.{payload}".encode(), ec.ECDSA(hashes.SHA256())))
            for token in (hs256("x" * 32, "o1", self.clock()), f"{head}.{payload}.{der}", f"{head}.{payload}.",
                          f"{head}.{payload}", "garbage"):
                self.assertIsNone(self.user(edge, token))
            self.assertEqual(server.hits, 0)

    def test_an_unknown_kid_fetches_again_once_and_a_burst_within_the_cooldown_does_not(self) -> None:
        with serving(self.k1) as server:
            edge = self.edge(jwks_url=server.url)
            self.assertEqual(self.user(edge, self.k1.sign(self.clock())), "alice")
            self.events()
            self.at(31)
            self.assertIsNone(self.user(edge, self.k1.sign(self.clock(), kid="nobody")))
            self.assertEqual(server.hits, 2, "an unknown kid did not fetch again")
            self.assertEqual(self.events(), ["edge_assertion_rejected"])
            for i in range(20):  # an attacker's random kids, within the 30 s after that fetch
                self.at(31 + i)
                self.assertIsNone(self.user(edge, self.k1.sign(self.clock(), kid=secrets.token_hex(8))))
            self.assertEqual(server.hits, 2, "a burst of unknown kids fetched within the cooldown")
            self.at(61)
            self.assertEqual(self.user(edge, self.k1.sign(self.clock())), "alice", "a known kid is unaffected")
            self.assertEqual(server.hits, 2)

    def test_without_kid_a_key_that_no_cached_key_verifies_fetches_again(self) -> None:
        with serving(self.k1) as server:
            edge = self.edge(jwks_url=server.url)
            self.assertEqual(self.user(edge, self.k1.sign(self.clock(), kid=None)), "alice")
            server.serve(self.k1, self.k2)
            self.at(31)
            self.assertEqual(self.user(edge, self.k2.sign(self.clock(), kid=None)), "alice")
            self.assertEqual(server.hits, 2)

    def test_a_kid_naming_two_keys_is_refused_as_unknown_and_fetches_again(self) -> None:
        # Two usable keys under one kid: the set is ambiguous, so the kid names none, though
        # one of them signed. As for an unknown kid, the set is fetched again (the cooldown
        # allowing), and a set that names one key verifies. Without a kid, each is tried.
        twin = Key("k1")
        with serving(self.k1, twin) as server:
            edge = self.edge(jwks_url=server.url)
            self.assertIsNone(self.user(edge, self.k1.sign(self.clock())))
            self.assertEqual(self.log.messages, ["edge_assertion_rejected: unknown kid"])
            self.assertEqual(server.hits, 1, "the fetch just made is within the cooldown")
            self.assertEqual(self.user(edge, twin.sign(self.clock(), kid=None)), "alice")
            self.at(31)
            self.assertIsNone(self.user(edge, twin.sign(self.clock())))
            self.assertEqual(server.hits, 2, "a kid naming two keys did not fetch again")
            server.serve(self.k1, self.k2)
            self.at(62)
            self.assertEqual(self.user(edge, self.k1.sign(self.clock())), "alice")
            self.assertEqual(server.hits, 3)

    def test_a_key_rotated_in_is_used_on_its_first_use_after_the_cooldown(self) -> None:
        with serving(self.k1) as server:
            edge = self.edge(jwks_url=server.url)
            self.assertEqual(self.user(edge, self.k1.sign(self.clock())), "alice")
            server.serve(self.k2, self.k1)  # the edge puts k2 first: it signs
            self.at(10)  # within the cooldown of the first fetch
            self.assertIsNone(self.user(edge, self.k2.sign(self.clock())))
            self.assertEqual(server.hits, 1)
            self.at(30)
            self.assertEqual(self.user(edge, self.k2.sign(self.clock())), "alice")
            self.assertEqual(server.hits, 2)
            self.assertEqual(self.user(edge, self.k1.sign(self.clock())), "alice", "the older key still verifies")
            # With no fetch in the last 30 s, a new key is fetched at its very first use.
            k3 = Key("k3")
            server.serve(k3, self.k2)
            self.at(100)
            self.assertEqual(self.user(edge, k3.sign(self.clock())), "alice")
            self.assertEqual(server.hits, 3)
            self.assertIsNone(self.user(edge, self.k1.sign(self.clock())), "a key removed from the JWKS still verifies")

    def test_a_stale_cache_that_names_the_key_does_not_wait_for_the_fetch(self) -> None:
        with serving(self.k1) as server:
            edge = self.edge(jwks_url=server.url)
            self.assertEqual(self.user(edge, self.k1.sign(self.clock())), "alice")
            server.delay = 1.0
            self.at(300)  # stale: the next request fetches, slowly
            fetching = threading.Thread(target=self.user, args=(edge, self.k1.sign(self.clock())))
            fetching.start()
            while server.hits < 2:
                time.sleep(0.01)
            started = time.monotonic()
            self.assertEqual(self.user(edge, self.k1.sign(self.clock())), "alice")
            self.assertLess(time.monotonic() - started, 0.5, "waited for a fetch it did not need")
            fetching.join()
            self.assertEqual(server.hits, 2)

    def test_concurrent_requests_share_one_fetch(self) -> None:
        with serving(self.k1) as server:
            server.delay = 0.3  # long enough for all of them to be waiting at once
            edge = self.edge(jwks_url=server.url)

            def burst(tokens: list[str]) -> list[Optional[str]]:
                results: list[Optional[str]] = [None] * len(tokens)
                start = threading.Barrier(len(tokens))

                def one(i: int) -> None:
                    start.wait()
                    results[i] = self.user(edge, tokens[i])

                threads = [threading.Thread(target=one, args=(i,)) for i in range(len(tokens))]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                return results

            # First use: 20 requests at once, random kids among them, one fetch.
            tokens = [self.k1.sign(self.clock(), kid=None if i % 2 else secrets.token_hex(6)) for i in range(20)]
            results = burst(tokens)
            self.assertEqual(server.hits, 1)
            self.assertEqual(results, [None if i % 2 == 0 else "alice" for i in range(20)])
            # A key rotated in, after the cooldown: 20 requests at once for it, one fetch, all served.
            server.serve(self.k2, self.k1)
            self.at(31)
            self.assertEqual(burst([self.k2.sign(self.clock()) for _ in range(20)]), ["alice"] * 20)
            self.assertEqual(server.hits, 2)

    def test_ipv6_loopback(self) -> None:
        try:
            server = Server("::1")
        except OSError:
            self.skipTest("no IPv6 loopback here")
        try:
            server.serve(self.k1)
            self.assertEqual(self.user(self.edge(jwks_url=server.url), self.k1.sign(self.clock())), "alice")
            self.assertEqual(server.hits, 1)
        finally:
            server.stop()

    def test_every_es256_vector_through_a_fetched_jwks(self) -> None:
        # The conformance table's ES256 vectors, with their JWKS served over HTTP instead of
        # given: the same answers, and at most one fetch each.
        with serving() as server:
            self.each_vector_fetched(server)

    def each_vector_fetched(self, server: Server) -> None:
        for v in (v for v in TABLE["assertions"] if v["jwks"] is not None):
            with self.subTest(v["name"]):
                server.body, server.hits = json.dumps(v["jwks"]).encode(), 0
                edge = EdgeSession(secret=v["secret"] or "", jwks_url=server.url, audience=v["audience"],
                                   clock=lambda: v["now"])
                identity = edge.identify(reader(v["token"]))
                self.assertEqual(identity.as_dict() if identity else None, v["claims"] if v["valid"] else None)
                self.assertEqual(self.events(), [] if v["valid"] else ["edge_assertion_rejected"])
                self.assertLessEqual(server.hits, 1)


class Failures(JwksTest):
    # (name, how the server fails) → the reason logged with edge_jwks_unavailable.
    FAILURES = {
        "down": "request failed",
        "status 500": "status 500",
        "a redirect, not followed": "status 302",
        "not JSON": "the answer is not JSON",
        "not a JWKS": "the answer is not a JWKS",
        "no usable key": "the answer has no usable key",
        "over 64 KiB": "the answer is over 65536 bytes",
    }

    def break_server(self, server: Server, how: str) -> None:
        server.status = 200
        if how == "down":
            server.stop()
        elif how == "status 500":
            server.status, server.body = 500, f"internal error {MARKER}".encode()
        elif how == "status 404":  # not in FAILURES: an answer, which drops the keys (below)
            server.status, server.body = 404, f"not found {MARKER}".encode()
        elif how == "a redirect, not followed":
            server.status, server.body, server.location = 302, jwks_of(self.k1, self.k2).encode(), "/elsewhere/jwks.json"
        elif how == "not JSON":
            server.body = f"<html>{MARKER}</html>".encode()
        elif how == "not a JWKS":
            server.body = json.dumps({"keys": MARKER}).encode()
        elif how == "no usable key":
            server.body = json.dumps({"keys": [{**self.k2.jwk, "d": b64u(b"\x01" * 32)}, {"kty": "oct", "k": MARKER}]}).encode()
        elif how == "over 64 KiB":  # a valid JWKS, padded past the limit
            server.body = json.dumps({"keys": [self.k1.jwk, self.k2.jwk], "pad": MARKER * 7000}).encode()
            self.assertGreater(len(server.body), 65536)

    def test_a_failed_fetch_is_anonymous_logged_and_keeps_the_keys_it_had(self) -> None:
        for how, reason in self.FAILURES.items():
            with self.subTest(how), serving(self.k1) as server:
                self.at(0)
                edge = self.edge(jwks_url=server.url)
                self.assertEqual(self.user(edge, self.k1.sign(self.clock())), "alice")
                self.break_server(server, how)
                self.at(300)  # the cache is stale: fetched again, and that fails
                self.assertEqual(self.user(edge, self.k1.sign(self.clock())), "alice", "the cached key was dropped")
                self.assertEqual(self.events(), ["edge_jwks_unavailable"])
                self.assertIn(reason, self.last_failure)
                self.at(301)  # an unknown kid in the cooldown: anonymous, no fetch
                self.assertIsNone(self.user(edge, self.k2.sign(self.clock())))
                self.assertEqual(self.events(), ["edge_assertion_rejected"])
                self.at(330)  # after it: fetched again, fails again, anonymous, never an exception
                self.assertIsNone(self.user(edge, self.k2.sign(self.clock())))
                self.assertEqual(self.events(), ["edge_jwks_unavailable", "edge_assertion_rejected"])
                self.assertEqual(self.user(edge, self.k1.sign(self.clock())), "alice")
                if how != "down":
                    self.assertEqual(server.hits, 3)
                    server.serve(self.k2, self.k1)  # it recovers: the next fetch takes the new keys
                    server.location = ""
                    self.at(360)
                    self.assertEqual(self.user(edge, self.k2.sign(self.clock())), "alice")
                    self.assertEqual(server.hits, 4)

    def test_a_first_fetch_that_fails_is_anonymous_and_logged(self) -> None:
        for how in [*self.FAILURES, "status 404"]:
            with self.subTest(how), serving(self.k1) as server:
                self.break_server(server, how)
                edge = self.edge(jwks_url=server.url)
                self.assertIsNone(self.user(edge, self.k1.sign(self.clock())))
                self.assertEqual(self.events(), ["edge_jwks_unavailable", "edge_assertion_rejected"])

    def test_kept_keys_verify_for_24_hours_after_the_last_fetch_that_succeeded_then_are_dropped(self) -> None:
        # The edge stopped publishing the key (it leaked, the operator moved back to HS256)
        # and the URL is down: the key must not verify forged assertions forever.
        with serving(self.k1) as server:
            edge = self.edge(jwks_url=server.url)
            self.assertEqual(self.user(edge, self.k1.sign(self.clock())), "alice")
            self.at(3600)  # a stale cache fetched again, successfully: the 24 h count from here
            self.assertEqual(self.user(edge, self.k1.sign(self.clock())), "alice")
            self.assertEqual(server.hits, 2)
        # The server is down now (stopped: connections refused).
        self.at(3600 + DAY - 60)  # 23 h 59 min after the last good fetch
        self.assertEqual(self.user(edge, self.k1.sign(self.clock())), "alice", "dropped before 24 h")
        self.assertEqual(self.events(), ["edge_jwks_unavailable"])
        self.assertIn("request failed", self.last_failure)
        self.assertIn("still verify", self.last_failure)
        self.at(3600 + DAY + 1)  # 24 h + 1 s: fetched again, fails, and the keys are dropped
        self.assertIsNone(self.user(edge, self.k1.sign(self.clock())), "a key verified over 24 h after its fetch")
        self.assertEqual(self.events(), ["edge_jwks_unavailable", "edge_assertion_rejected"])
        self.assertIn("dropped", self.last_failure)
        self.at(3600 + DAY + 100)
        self.assertIsNone(self.user(edge, self.k1.sign(self.clock(), kid=None)), "a token without kid")
        self.assertEqual(self.events(), ["edge_jwks_unavailable", "edge_assertion_rejected"])

    def test_kept_keys_are_refused_after_24_hours_even_within_a_cooldown_then_a_good_fetch_restores_them(self) -> None:
        with serving(self.k1) as server:
            edge = self.edge(jwks_url=server.url)
            self.assertEqual(self.user(edge, self.k1.sign(self.clock())), "alice")
            self.break_server(server, "status 500")
            self.at(DAY - 10)  # a failed attempt 10 s before the 24 h: the next 30 s fetch nothing
            self.assertEqual(self.user(edge, self.k1.sign(self.clock())), "alice")
            self.assertEqual(self.events(), ["edge_jwks_unavailable"])
            self.at(DAY + 1)
            self.assertIsNone(self.user(edge, self.k1.sign(self.clock())), "kept past 24 h in a cooldown")
            self.assertEqual((server.hits, self.events()), (2, ["edge_assertion_rejected"]))
            server.serve(self.k1)  # the edge is back, still signing with k1
            self.at(DAY + 21)
            self.assertEqual(self.user(edge, self.k1.sign(self.clock())), "alice")
            self.assertEqual((server.hits, self.events()), (3, []))
            self.at(2 * DAY + 20)  # 24 h after that fetch, which was good
            self.assertEqual(self.user(edge, self.k1.sign(self.clock())), "alice")

    def test_a_404_drops_the_keys_at_once_and_a_200_restores_them(self) -> None:
        # A 404 is the edge's answer that it serves no JWKS (back on HS256, perhaps after the
        # ES256 key leaked): the keys held stop verifying at the refetch that gets it.
        for trigger in ("an unknown kid", "the 5-minute expiry"):
            with self.subTest(trigger), serving(self.k1) as server:
                self.at(0)
                edge = self.edge(jwks_url=server.url)
                self.assertEqual(self.user(edge, self.k1.sign(self.clock())), "alice")
                self.break_server(server, "status 404")
                if trigger == "an unknown kid":
                    self.at(31)
                    self.assertEqual(self.user(edge, self.k1.sign(self.clock())), "alice", "fetched without cause")
                    self.assertIsNone(self.user(edge, self.k2.sign(self.clock())))  # kid k2: the refetch
                    self.assertEqual(self.events(), ["edge_jwks_unavailable", "edge_assertion_rejected"])
                else:
                    self.at(299)
                    self.assertEqual(self.user(edge, self.k1.sign(self.clock())), "alice", "fetched without cause")
                    self.at(300)  # this request's refetch gets the 404: refused at once
                    self.assertIsNone(self.user(edge, self.k1.sign(self.clock())), "verified after the 404")
                    self.assertEqual(self.events(), ["edge_jwks_unavailable", "edge_assertion_rejected"])
                self.assertIn("status 404", self.last_failure)
                self.assertIn("dropped", self.last_failure)
                self.assertEqual(server.hits, 2)
                refetched = self.clock.now
                for token in (self.k1.sign(self.clock()), self.k1.sign(self.clock(), kid=None)):
                    self.assertIsNone(self.user(edge, token), "a key dropped by the 404 still verifies")
                self.assertEqual(self.events(), ["edge_assertion_rejected"] * 2)
                self.assertEqual(server.hits, 2, "the 404 did not count for the cooldown")
                server.serve(self.k1)  # the URL answers 200 again (back on ES256)
                self.at(refetched - T0 + 30)
                self.assertEqual(self.user(edge, self.k1.sign(self.clock())), "alice", "not restored by a 200")
                self.assertEqual((server.hits, self.events()), (3, []))

    def test_a_fetch_gives_up_after_its_timeout_however_the_server_trickles(self) -> None:
        # Every byte comes within the socket's timeout, the whole never: the deadline is for
        # the whole fetch. (0.5 s here instead of 5, to keep the test short.)
        with serving(self.k1) as server, mock.patch.object(edge_session._jwks, "FETCH_TIMEOUT", 0.5):
            server.drip = True
            edge = self.edge(jwks_url=server.url)
            started = time.monotonic()
            self.assertIsNone(self.user(edge, self.k1.sign(self.clock())))
            self.assertLess(time.monotonic() - started, 2.0)
            self.assertEqual(self.events(), ["edge_jwks_unavailable", "edge_assertion_rejected"])
            self.assertIn("no answer within 0.5 s", self.last_failure)


class Configuration(JwksTest):
    def test_the_url_is_https_or_http_to_loopback(self) -> None:
        for good in ("https://app.example.com/__edge/jwks.json", "http://127.0.0.1:8787/__edge/jwks.json",
                     "http://127.8.9.10/jwks", "http://localhost:8787/__edge/jwks.json", "http://LOCALHOST/x",
                     "http://[::1]:8787/__edge/jwks.json", "https://app.example.com:8443/jwks?v=1"):
            with self.subTest(good):
                self.assertEqual(self.edge(jwks_url=good).jwks_url, good)
        for bad in ("http://example.com/__edge/jwks.json", "http://127.0.0.1.example.com/", "http://10.0.0.1/",
                    "http://[::2]/", "http://[::ffff:127.0.0.1]/", "ftp://127.0.0.1/", "127.0.0.1:8787/jwks",
                    "https://user:pw@app.example.com/jwks", "https:///jwks", "https://app.example.com:port/",
                    "http://localhost\\@example.com/", "https://app.example.com /x", "o1:" + "s3cr3t" * 6):
            with self.subTest(bad), self.assertRaisesRegex(ValueError, r"^EDGE_JWKS_URL \(jwks_url\) must be https") as refused:
                self.edge(jwks_url=bad)
            self.assertNotIn(bad, str(refused.exception), "the refusal quotes the value")

    def test_the_environment_configures_it(self) -> None:
        with serving(self.k1) as server:
            os.environ["EDGE_JWKS_URL"] = server.url
            self.assertEqual(self.user(EdgeSession(clock=self.clock), self.k1.sign(self.clock())), "alice")
            del os.environ["EDGE_JWKS_URL"]
            os.environ["EDGE_JWKS"] = jwks_of(self.k1)
            self.assertEqual(self.user(EdgeSession(clock=self.clock), self.k1.sign(self.clock())), "alice")
            os.environ["EDGE_JWKS_URL"] = "http://example.com/"
            with self.assertRaisesRegex(ValueError, "EDGE_JWKS and EDGE_JWKS_URL are both set"):
                EdgeSession(clock=self.clock)

    def test_edge_jwks_is_refused_at_startup_unless_it_is_public_keys_for_es256(self) -> None:
        private = {**self.k1.jwk, "d": b64u(self.k1.private.private_numbers().private_value.to_bytes(32, "big"))}
        cases = {
            "not JSON": ("{keys: []}", r"^EDGE_JWKS \(jwks\) is not JSON$"),
            "not a JWKS": ('[{"kty": "EC"}]', r"^EDGE_JWKS \(jwks\) is not a JWKS"),
            "keys not a list": ('{"keys": {}}', r"^EDGE_JWKS \(jwks\) is not a JWKS"),
            "no usable key": (json.dumps({"keys": [{**self.k1.jwk, "crv": "P-384"}]}), "has no usable key"),
            "a private key": (json.dumps({"keys": [self.k2.jwk, private]}), r"key #2 has a private part \(d\)"),
            "a private key of another type": (json.dumps({"keys": [self.k1.jwk, {"kty": "RSA", "d": "AQAB"}]}),
                                              r"key #2 has a private part \(d\)"),
        }
        for name, (text, message) in cases.items():
            for given in (text, None):
                with self.subTest(name, from_environment=given is None):
                    if given is None:
                        os.environ["EDGE_JWKS"] = text
                    with self.assertRaisesRegex(ValueError, message) as refused:
                        self.edge(jwks=given)
                    self.assertNotIn(private["d"], str(refused.exception))
                    os.environ.pop("EDGE_JWKS", None)
        self.assertEqual(self.user(self.edge(jwks=json.loads(jwks_of(self.k1))), self.k1.sign(self.clock())), "alice",
                         "a parsed dict is taken as well")

    def test_nothing_to_verify_with_names_all_three(self) -> None:
        for blank in ({}, {"secret": "", "jwks": " ", "jwks_url": ""}):
            with self.subTest(blank), self.assertRaises(ValueError) as refused:
                self.edge(**blank)
            for name in ("ORIGIN_SECRET", "EDGE_JWKS_URL", "EDGE_JWKS"):
                self.assertIn(name, str(refused.exception))

    def test_without_cryptography_a_jwks_fails_at_startup_not_at_the_first_request(self) -> None:
        with mock.patch.object(edge_session._jwks, "HAVE_CRYPTO", False):
            for option in ({"jwks_url": "https://app.example.com/__edge/jwks.json"}, {"jwks": jwks_of(self.k1)}):
                with self.subTest(option), self.assertRaisesRegex(ImportError, r'edge-session-origin\[es256\]'):
                    self.edge(**option)
            self.edge(secret="o1:" + "x" * 32)  # HS256 alone needs no cryptography


class VerifyOnly(JwksTest):
    """A service with the JWKS and no secret: it verifies ES256 and signs nothing."""

    def test_it_verifies_es256_refuses_hs256_and_signs_nothing(self) -> None:
        edge = self.edge(jwks=jwks_of(self.k1))
        self.assertEqual(self.user(edge, self.k1.sign(self.clock())), "alice")
        self.assertIsNone(self.user(edge, hs256("o" * 32, "o1", self.clock())))
        self.assertEqual(self.log.messages[-1], "edge_assertion_rejected: alg HS256, and ORIGIN_SECRET is not set")
        for sign, name in ((lambda: edge.login_directive("n0nce", "alice"), "DIRECTIVE_SECRET"),
                           (lambda: edge.logout_directive("n0nce"), "DIRECTIVE_SECRET"),
                           (lambda: edge.request(reader(None, "n0nce")).login("alice"), "DIRECTIVE_SECRET"),
                           (lambda: edge.admin_token("alice", "list"), "ADMIN_SECRET")):
            with self.subTest(name), self.assertRaisesRegex(
                    ValueError, f"^{name} is not set: this service only verifies identities"):
                sign()
        # Given its own directive ring, it logs users in, and still holds no ORIGIN_SECRET.
        edge = self.edge(jwks=jwks_of(self.k1), directive_secret="d1:" + "d" * 32)
        self.assertTrue(edge.login_directive("n0nce", "alice"))
        self.assertIsNone(self.user(edge, hs256("d" * 32, "d1", self.clock())), "the directive ring verifies assertions")

    def test_an_origin_with_only_the_secret_refuses_es256_saying_why(self) -> None:
        edge = self.edge(secret="o1:" + "o" * 32)
        self.assertIsNone(self.user(edge, self.k1.sign(self.clock())))
        self.assertEqual(self.log.messages[-1],
                         "edge_assertion_rejected: alg ES256, and neither EDGE_JWKS_URL nor EDGE_JWKS is set")

    def test_both_during_a_switch_over(self) -> None:
        with serving(self.k1) as server:
            edge = self.edge(secret="o1:" + "o" * 32, jwks_url=server.url)
            self.assertEqual(self.user(edge, hs256("o" * 32, "o1", self.clock())), "alice")
            self.assertEqual(server.hits, 0, "an HS256 assertion fetched the JWKS")
            self.assertEqual(self.user(edge, self.k1.sign(self.clock())), "alice")
            self.assertIsNone(self.user(edge, hs256("o" * 32, "k1", self.clock())), "HS256 named a JWKS kid")


class Frameworks(JwksTest):
    """The adapters with a JWKS alone (a fetched one: the first request fetches it)."""

    def test_fastapi_verifies_off_the_event_loop(self) -> None:
        from fastapi import Depends, FastAPI

        from edge_session.asgi import EdgeSessionMiddleware, require_user

        with serving(self.k1) as server:
            server.delay = 0.5
            app = FastAPI()
            app.add_middleware(EdgeSessionMiddleware, edge=self.edge(jwks_url=server.url))

            @app.get("/me")
            async def me(user: Identity = Depends(require_user())) -> dict[str, Any]:
                return user.as_dict()

            @app.get("/ping")
            async def ping() -> str:
                return "pong"

            async def both() -> list[tuple[str, int, float]]:
                started = time.monotonic()

                async def call(path: str, headers: dict[str, str]) -> tuple[str, int, float]:
                    status, _, _ = await call_asgi(app, path, headers)
                    return path, status, time.monotonic() - started

                return list(await asyncio.gather(call("/me", {ASSERTION_HEADER: self.k1.sign(self.clock())}),
                                                 call("/ping", {})))

            (_, me_status, me_took), (_, ping_status, ping_took) = asyncio.run(both())
            self.assertEqual((me_status, ping_status), (200, 200))
            self.assertGreaterEqual(me_took, 0.5)
            self.assertLess(ping_took, 0.4, "the JWKS fetch blocked the event loop")
            status, _, body = asyncio.run(call_asgi(app, "/me", {ASSERTION_HEADER: self.k1.sign(self.clock())}))
            self.assertEqual((status, json.loads(body)["sub"]), (200, "alice"))
            self.assertEqual(asyncio.run(call_asgi(app, "/me", {}))[0], 401)
            self.assertEqual(server.hits, 1)

    def test_flask_and_django_from_their_configuration(self) -> None:
        from flask import Flask, g

        from edge_session.flask import EdgeSessionExtension, require_user

        with serving(self.k1) as server:
            app = Flask(__name__)
            app.config["EDGE_SESSION"] = {"jwks_url": server.url, "clock": self.clock}
            EdgeSessionExtension(app)

            @app.get("/me")
            @require_user()
            def me() -> Any:
                return g.edge.user.as_dict()

            client = app.test_client()
            self.assertEqual(client.get("/me", headers={ASSERTION_HEADER: self.k1.sign(self.clock())}).json["sub"],
                             "alice")
            self.assertEqual(client.get("/me").status_code, 401)

            import django
            from django.conf import settings
            from django.http import HttpResponse, JsonResponse
            from django.test import RequestFactory, override_settings

            if not settings.configured:
                settings.configure(ALLOWED_HOSTS=["*"], SECRET_KEY="test", DEFAULT_CHARSET="utf-8")
                django.setup()
            from edge_session.django import EdgeSessionMiddleware, edge_login_required

            with override_settings(EDGE_SESSION={"jwks": jwks_of(self.k1), "clock": self.clock}):
                middleware = EdgeSessionMiddleware(edge_login_required()(
                    lambda request: JsonResponse(request.edge.user.as_dict())))
                response = middleware(RequestFactory().get("/me", headers={ASSERTION_HEADER: self.k1.sign(self.clock())}))
                self.assertEqual(json.loads(response.content)["sub"], "alice")
                self.assertEqual(middleware(RequestFactory().get("/me")).status_code, 401)
                # A login in a verify-only service is a clear error, not a silent nothing.
                login = EdgeSessionMiddleware(lambda request: (request.edge.login("ada"), HttpResponse("ok"))[1])
                with self.assertRaisesRegex(ValueError, "^DIRECTIVE_SECRET is not set"):
                    login(RequestFactory().get("/login", headers={NONCE_HEADER: "n0nce"}))
                self.assertNotIn(LOGIN_HEADER, middleware(RequestFactory().get("/me")))


if __name__ == "__main__":
    unittest.main()
