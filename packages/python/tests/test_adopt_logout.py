"""The bridge beside a logout on one response: a bridge in a global hook adopts before the
logout handler runs, and the edge applies a logout, then a login. The logout must win over
the bridge's login, whichever came first; an app's own login beside a logout is an account
switch, and stays.

    PYTHONPATH=packages/python/src .venv/bin/python -m unittest discover -s packages/python/tests -p test_adopt_logout.py
"""

from __future__ import annotations

import base64
import json
import unittest

from edge_session import LOGIN_HEADER, LOGOUT_HEADER, NONCE_HEADER, EdgeRequest, EdgeSession


def anonymous_request() -> EdgeRequest:
    """An anonymous request that came through the edge."""
    edge = EdgeSession(secret="o1:0123456789abcdef0123456789abcdef", audience="origin")
    return edge.request(lambda name: "n0nce" if name.lower() == NONCE_HEADER.lower() else None)


def sub_of(token: str) -> str:
    """The ``sub`` a login directive carries."""
    payload = token.split(".")[1]
    sub: str = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]
    return sub


class AdoptLogout(unittest.TestCase):
    def test_an_adopted_login_is_never_a_recent_sign_in(self) -> None:
        def claims(request: EdgeRequest) -> dict[str, object]:
            payload = request.response_headers[LOGIN_HEADER].split(".")[1]
            decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            return decoded

        adopted = anonymous_request()
        self.assertTrue(adopted.adopt("lee"))
        self.assertEqual(claims(adopted)["auth_time"], 0, "the old session proves nothing now")
        own = anonymous_request()
        own.login("lee")
        self.assertNotIn("auth_time", claims(own))

    def test_adopt_then_logout_leaves_only_the_logout(self) -> None:
        request = anonymous_request()
        self.assertTrue(request.adopt("lee"))
        request.logout()
        self.assertEqual(sorted(request.response_headers), [LOGOUT_HEADER])

    def test_logout_then_adopt_does_nothing(self) -> None:
        request = anonymous_request()
        request.logout()
        self.assertFalse(request.adopt("lee"))
        self.assertEqual(sorted(request.response_headers), [LOGOUT_HEADER])

    def test_login_then_logout_keeps_both(self) -> None:
        request = anonymous_request()
        request.login("bob")
        request.logout()
        self.assertEqual(sorted(request.response_headers), [LOGIN_HEADER, LOGOUT_HEADER])

    def test_adopt_then_login_then_logout_keeps_the_apps_login(self) -> None:
        request = anonymous_request()
        self.assertTrue(request.adopt("lee"))
        request.login("bob")
        request.logout()
        self.assertEqual(sorted(request.response_headers), [LOGIN_HEADER, LOGOUT_HEADER])
        self.assertEqual(sub_of(request.response_headers[LOGIN_HEADER]), "bob")


if __name__ == "__main__":
    unittest.main()
