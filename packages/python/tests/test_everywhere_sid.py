""""Log out everywhere" without a sub, and a revocation of something that is not a session
id: both used to be signed and sent, and refused by the edge where the app never saw it
(``directive_rejected``) or in words that blame the secret (``401 invalid token``). Both
are now refused here, by name; and a request's own logout fills in its user.

    PYTHONPATH=packages/python/src .venv/bin/python -m unittest discover -s packages/python/tests -p test_everywhere_sid.py
"""

from __future__ import annotations

import base64
import json
import threading
import unittest
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Iterator, Optional

from edge_session import ASSERTION_HEADER, LOGOUT_HEADER, NONCE_HEADER, EdgeAdminError, EdgeRequest, EdgeSession

TABLE: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "conformance" / "vectors.json").read_text("utf-8"))
# A valid assertion (for "alice"), its ring, audience and time.
IDENTIFIED: dict[str, Any] = next(v for v in TABLE["assertions"] if v["valid"])

# The edge's FamilyId::parse: 22 characters of canonical base64url (the last one carries 2
# bits and 4 zero bits: A, Q, g or w). The Node and Rust tests check the same lists.
SIDS = ["AAAAAAAAAAAAAAAAAAAAAA", "BwcHBwcHBwcHBwcHBwcHBw", "_____________________w", "Zm9yLWNvbmZvcm1hbmNl-Q",
        "AQEBAQEBAQEBAQEBAQEBAg"]
NOT_SIDS = [
    "bogus", "", "AAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAB", "AAAAAAAAAAAAAAAAAAAAA_",
    "AAAAAAAAAAAAAAAAAAAAAA==", "AAAAAAAAAAAAAAAAAAAA+A", "AAAAAAAAAAAAAAAAAAAA/A", "AAAAAAAAAAAAAAAAAAAA A",
    "AAAAAAAAAAAAAAAAAAAAAA\n", "AAAAAAAAAAAAAAAAAAAAAé", "Zm9yLWNvbmZvcm1hbmNlLXRlc3Rz",
]


def edge_at(edge_url: Optional[str] = None) -> EdgeSession:
    return EdgeSession(secret=IDENTIFIED["secret"], audience=IDENTIFIED["audience"], edge_url=edge_url,
                       clock=lambda: IDENTIFIED["now"])


def request(signed_in: bool) -> EdgeRequest:
    """A request through the edge, identified by the vector's assertion or anonymous."""
    headers = {NONCE_HEADER: "n0nce", ASSERTION_HEADER: IDENTIFIED["token"] if signed_in else None}
    return edge_at().request(lambda name: headers.get(name))


def part(jws: str, i: int) -> Any:
    text = jws.split(".")[i]
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def canonical(sid: str) -> bool:
    data = base64.urlsafe_b64decode(sid + "=" * (-len(sid) % 4))
    return len(data) == 16 and base64.urlsafe_b64encode(data).rstrip(b"=").decode() == sid


class Everywhere(unittest.TestCase):
    def test_logout_directive_refuses_everywhere_without_a_sub(self) -> None:
        for sub in (None, ""):
            with self.assertRaisesRegex(ValueError, r"^scope everywhere needs sub$"):
                edge_at().logout_directive("n0nce", scope="everywhere", sub=sub)

    def test_a_valid_logout_directive_looks_as_before(self) -> None:
        now = IDENTIFIED["now"]
        everywhere = edge_at().logout_directive("n0nce", scope="everywhere", sub="ada")
        self.assertEqual(part(everywhere, 0), {"alg": "HS256", "typ": "edge-logout+jwt", "kid": "o2"})
        self.assertEqual(part(everywhere, 1), {"aud": "edge-session", "iat": now, "exp": now + 120,
                                               "scope": "everywhere", "nonce": "n0nce", "sub": "ada"})
        session = edge_at().logout_directive("n0nce")
        self.assertEqual(part(session, 1), {"aud": "edge-session", "iat": now, "exp": now + 120,
                                            "scope": "session", "nonce": "n0nce"})

    def test_a_signed_in_requests_logout_everywhere_ends_every_session_of_its_user(self) -> None:
        edge = request(signed_in=True)
        assert edge.user is not None
        self.assertEqual(edge.user.sub, "alice")
        edge.logout(scope="everywhere")
        claims = part(edge.response_headers[LOGOUT_HEADER], 1)
        self.assertEqual((claims["scope"], claims["sub"]), ("everywhere", "alice"))

    def test_an_explicit_sub_is_kept_and_a_session_logout_carries_none(self) -> None:
        edge = request(signed_in=True)
        edge.logout(scope="everywhere", sub="bob")
        self.assertEqual(part(edge.response_headers[LOGOUT_HEADER], 1)["sub"], "bob")
        edge.logout()
        self.assertNotIn("sub", part(edge.response_headers[LOGOUT_HEADER], 1))

    def test_an_anonymous_requests_logout_everywhere_without_sub_raises_and_sets_nothing(self) -> None:
        edge = request(signed_in=False)
        with self.assertRaisesRegex(ValueError, r"^scope everywhere needs sub$"):
            edge.logout(scope="everywhere")
        self.assertEqual(edge.response_headers, {})


class Answers(BaseHTTPRequestHandler):
    """The edge's admin API, answering what the test set, and recording the tokens."""

    answer: tuple[int, Any] = (200, {})
    tokens: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        type(self).tokens.append(self.headers["Authorization"].removeprefix("Bearer "))
        status, body = type(self).answer
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def edge_answering(status: int, body: Any) -> Iterator[tuple[EdgeSession, list[str]]]:
    """An EdgeSession whose admin API answers ``status`` and ``body``, and the tokens it was sent."""
    Answers.answer, Answers.tokens = (status, body), []
    server = HTTPServer(("127.0.0.1", 0), Answers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield edge_at(f"http://127.0.0.1:{server.server_address[1]}"), Answers.tokens
    finally:
        server.shutdown()
        server.server_close()


class SessionIds(unittest.TestCase):
    def test_admin_token_takes_exactly_the_edges_session_ids(self) -> None:
        edge = edge_at()
        for sid in SIDS:
            self.assertTrue(canonical(sid), sid)
            self.assertEqual(part(edge.admin_token("ada", "revoke", sid=sid), 1)["sid"], sid)
            self.assertEqual(part(edge.admin_token("ada", "revoke_all", except_sid=sid), 1)["except"], sid)
        for bad in [*NOT_SIDS, 7]:
            with self.subTest(sid=bad):
                message = f"not a session id: {bad!r}"
                with self.assertRaises(ValueError) as raised:
                    edge.admin_token("ada", "revoke", sid=bad)  # type: ignore[arg-type]
                self.assertEqual(str(raised.exception), message)
                with self.assertRaises(ValueError) as raised:
                    edge.admin_token("ada", "revoke_all", except_sid=bad)  # type: ignore[arg-type]
                self.assertEqual(str(raised.exception), message)
        with self.assertRaisesRegex(ValueError, "revoke needs sid"):
            edge.admin_token("ada", "revoke")
        self.assertNotIn("except", part(edge.admin_token("ada", "revoke_all"), 1))

    def test_revoke_refuses_a_malformed_id_before_any_call(self) -> None:
        with edge_answering(200, {"revoked": 1, "pending": 0}) as (edge, tokens):
            with self.assertRaisesRegex(ValueError, r"^not a session id: 'bogus'$"):
                edge.revoke_session("ada", "bogus")
            with self.assertRaisesRegex(ValueError, r"^not a session id: 'bogus'$"):
                edge.revoke_all("ada", except_sid="bogus")
            self.assertEqual(tokens, [])

    def test_the_admin_clients_answers(self) -> None:
        session = {"sid": SIDS[1], "created_at": 1700000000, "last_seen": 1700000060, "remember": True,
                   "device_bound": False, "user_agent": "curl/8", "country": None}
        with edge_answering(200, {"sub": "ada", "sessions": [session]}) as (edge, tokens):
            self.assertEqual(edge.list_sessions("ada"), [session])
            self.assertEqual(part(tokens[0], 1)["act"], "list")
        with edge_answering(200, {"revoked": 1, "pending": 0}) as (edge, tokens):
            self.assertEqual(edge.revoke_session("ada", SIDS[1]), {"revoked": 1, "pending": 0})
            self.assertEqual(part(tokens[0], 1)["sid"], SIDS[1])
        unknown = {"error": "no such session for this user", "revoked": 0, "pending": 0}
        with edge_answering(404, unknown) as (edge, _):
            with self.assertRaises(EdgeAdminError) as raised:
                edge.revoke_session("ada", SIDS[2])
            self.assertEqual((raised.exception.status, raised.exception.body), (404, unknown))


if __name__ == "__main__":
    unittest.main()
