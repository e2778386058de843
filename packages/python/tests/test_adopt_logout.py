"""The bridge beside a logout on one response: a bridge in a global hook adopts before the
logout handler runs, and the edge applies a logout, then a login. The logout must win over
the bridge's login, whichever came first; an app's own login beside a logout is an account
switch, and stays.

    PYTHONPATH=packages/python/src .venv/bin/python -m unittest discover -s packages/python/tests -p test_adopt_logout.py
"""

from __future__ import annotations

import unittest

from edge_session import LOGIN_HEADER, LOGOUT_HEADER, NONCE_HEADER, EdgeRequest, EdgeSession


def anonymous_request() -> EdgeRequest:
    """An anonymous request that came through the edge."""
    edge = EdgeSession(secret="o1:0123456789abcdef0123456789abcdef", audience="origin")
    return edge.request(lambda name: "n0nce" if name.lower() == NONCE_HEADER.lower() else None)


class AdoptLogout(unittest.TestCase):
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


if __name__ == "__main__":
    unittest.main()
