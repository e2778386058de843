"""Where the admin client sends its bearer token: to ``{EDGE_URL}/__edge/admin`` and
nowhere else. An ``EDGE_URL`` with a path used to be concatenated (``/base/__edge/admin``:
a path the edge forwards to the app, token included), and a redirect was followed with
the token (urllib keeps ``Authorization``, to any host). Both are refused now, and the
refusal never echoes the value (swapped arguments would log ``ORIGIN_SECRET``).

    PYTHONPATH=packages/python/src .venv/bin/python -m unittest discover -s packages/python/tests -p test_admin_endpoint.py
"""

from __future__ import annotations

import json
import os
import threading
import unittest
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Iterator
from unittest import mock

from edge_session import EdgeAdminError, EdgeSession

SECRET = "o1:0123456789abcdef0123456789abcdef"

# EDGE_URL is http(s)://host[:port], with an optional trailing slash: the Rust crate's rule
# (packages/rust/src/client.rs, admin_endpoint), and its test's cases.
NOT_EDGE_URLS = [
    "app.example.com", "localhost:8787", "ftp://app.example.com", "http://", "http:///__edge/admin",
    "https://app.example.com/base", "https://app.example.com/base/", "https://app.example.com/__edge/admin",
    "https://app.example.com/?x=1", "https://app.example.com/?", "https://app.example.com?x=1",
    "https://app.example.com/#x", "https://app.example.com#", "https://user:pw@app.example.com",
    "https://user@app.example.com", "https://app.example.com:port", "http://app.example.com\\base",
    "http://app.example.com /base", SECRET,
]


class Recorder(BaseHTTPRequestHandler):
    """Answers POST /__edge/admin with ``answer`` (a status, and a Location for a 3xx), and
    records the path and bearer token of every request, whatever its method and path."""

    answer = 200
    seen: list[tuple[str, str, str]] = []

    def _any(self) -> None:
        type(self).seen.append((self.command, self.path, self.headers.get("Authorization", "")))
        status = type(self).answer if self.path == "/__edge/admin" else 200
        data = json.dumps({"revoked": 1, "pending": 0} if status == 200 else {}).encode()
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("Location", "/elsewhere")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _any  # noqa: N815 (http.server's names)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def recording(answer: int) -> Iterator[tuple[int, list[tuple[str, str, str]]]]:
    """A local server answering ``answer`` on the admin path: its port, and what it saw."""
    Recorder.answer, Recorder.seen = answer, []
    server = HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], Recorder.seen
    finally:
        server.shutdown()
        server.server_close()


class EdgeUrl(unittest.TestCase):
    def test_the_token_goes_to_the_admin_path_of_a_bare_edge_url(self) -> None:
        for suffix in ["", "/"]:
            with recording(200) as (port, seen):
                edge = EdgeSession(secret=SECRET, edge_url=f"http://127.0.0.1:{port}{suffix}")
                self.assertEqual(edge.revoke_all("ada"), {"revoked": 1, "pending": 0})
                self.assertEqual([(method, path) for method, path, _ in seen], [("POST", "/__edge/admin")])

    def test_an_edge_url_with_a_path_query_or_credentials_is_refused_at_construction(self) -> None:
        for bad in NOT_EDGE_URLS:
            with self.subTest(edge_url=bad):
                with self.assertRaisesRegex(ValueError, r"^EDGE_URL \(edge_url\) must be http\(s\)://host\[:port\]"):
                    EdgeSession(secret=SECRET, edge_url=bad)
        with mock.patch.dict(os.environ, {"EDGE_URL": "https://app.example.com/base"}):
            with self.assertRaisesRegex(ValueError, "it has a path$"):
                EdgeSession(secret=SECRET)

    def test_the_refusal_names_the_rule_never_the_value(self) -> None:
        # EdgeSession(secret=…, edge_url=…) with the two swapped: the secret is the URL.
        with self.assertRaises(ValueError) as raised:
            EdgeSession(secret=SECRET, edge_url=SECRET)
        for text in (str(raised.exception), repr(raised.exception)):
            self.assertNotIn("0123456789abcdef", text)
        for bad, rule in [("ftp://app.example.com", "the scheme is not http or https"),
                          ("https://user:pw@app.example.com", "it has credentials"),
                          ("https://app.example.com/base", "it has a path"),
                          ("https://app.example.com/?x=1", "it has a query"),
                          ("https://app.example.com/#x", "it has a fragment")]:
            with self.assertRaises(ValueError) as raised:
                EdgeSession(secret=SECRET, edge_url=bad)
            self.assertTrue(str(raised.exception).endswith(rule), str(raised.exception))
            self.assertNotIn("app.example.com", str(raised.exception))

    def test_unset_is_still_refused_at_the_call(self) -> None:
        for unset in [None, ""]:
            with mock.patch.dict(os.environ, {}, clear=True):
                edge = EdgeSession(secret=SECRET, edge_url=unset)
            with self.assertRaisesRegex(ValueError, "is not set"):
                edge.list_sessions("ada")


class Redirects(unittest.TestCase):
    def test_a_redirect_is_an_error_and_is_not_followed(self) -> None:
        for status in [301, 302, 303, 307, 308]:
            with self.subTest(status=status), recording(status) as (port, seen):
                edge = EdgeSession(secret=SECRET, edge_url=f"http://127.0.0.1:{port}")
                with self.assertRaises(EdgeAdminError) as raised:
                    edge.revoke_all("ada")
                self.assertEqual(raised.exception.status, status)
                # One request, to the admin path: the token never reached /elsewhere.
                self.assertEqual([(method, path) for method, path, _ in seen], [("POST", "/__edge/admin")])


if __name__ == "__main__":
    unittest.main()
