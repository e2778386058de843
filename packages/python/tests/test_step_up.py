"""The step-up directive (``X-Edge-Step-Up``): the user of this session just proved who
they are again. The produced header is checked here independently of the package: the
HMAC-SHA256 is computed with the standard library over ``header.payload``, and the
header and claims are base64url-decoded and read as JSON by the test itself.

    PYTHONPATH=packages/python/src .venv/bin/python -m unittest discover -s packages/python/tests -p test_step_up.py
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import unittest
from typing import Any, Optional

from edge_session import ASSERTION_HEADER, LOGIN_HEADER, NONCE_HEADER, STEP_UP_HEADER, EdgeRequest, EdgeSession

NOW = 1_700_000_000
ORIGIN_KEY = "origin-secret-0123456789abcdefghijklmnop"
ORIGIN = f"o1:{ORIGIN_KEY}"
DIRECTIVE_KEY = "directive-secret-0123456789abcdefghijklm"
DIRECTIVE = f"d2:{DIRECTIVE_KEY},d1:older-directive-secret-0123456789abcdef"
SID = "AAAAAAAAAAAAAAAAAAAAAA"
NONCE = "bm9uY2Utb2YtdGhlLXJlcXVlc3Q"
AMR_ERROR = r"^amr must be 1 to 8 names of \[A-Za-z0-9_.:-\]\{1,16\}$"


def b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def opened(jws: str, key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of ``jws`` if its MAC is HMAC-SHA256 keyed with ``key``'s UTF-8
    bytes over ``header.payload`` (the edge's rule); fails the test otherwise."""
    header, payload, signature = jws.split(".")
    expected = hmac.new(key.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, b64u_decode(signature)):
        raise AssertionError(f"not signed with {key[:12]}…")
    return json.loads(b64u_decode(header)), json.loads(b64u_decode(payload))


def assertion(sub: str = "alice") -> str:
    """An HS256 assertion as the edge signs it with ORIGIN_SECRET at NOW."""
    claims = {"iss": "edge-session", "aud": "origin", "sub": sub, "sid": SID, "state": "fresh", "iat": NOW,
              "exp": NOW + 60, "jti": "j", "auth_time": NOW - 3600, "amr": ["pwd"]}
    header = {"alg": "HS256", "typ": "JWT", "kid": "o1"}
    text = f"{b64u(json.dumps(header).encode())}.{b64u(json.dumps(claims).encode())}"
    mac = hmac.new(ORIGIN_KEY.encode(), text.encode(), hashlib.sha256).digest()
    return f"{text}.{b64u(mac)}"


def public_jwks() -> dict[str, Any]:
    """A JWKS of one fresh P-256 public key, made with ``cryptography`` (the ``[es256]`` extra)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    numbers = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    x, y = (b64u(n.to_bytes(32, "big")) for n in (numbers.x, numbers.y))
    return {"keys": [{"kty": "EC", "crv": "P-256", "kid": "a1", "x": x, "y": y}]}


def edge_at(**options: Any) -> EdgeSession:
    settings: dict[str, Any] = {"secret": ORIGIN, "audience": "origin", "directive_secret": DIRECTIVE,
                                "admin_secret": "", **options}
    return EdgeSession(clock=lambda: NOW, **settings)


def request(edge: EdgeSession, token: Optional[str] = None, nonce: Optional[str] = NONCE) -> EdgeRequest:
    headers = {NONCE_HEADER.lower(): nonce, ASSERTION_HEADER.lower(): token}
    return edge.request(lambda name: headers.get(name.lower()))


class StepUpDirective(unittest.TestCase):
    def test_the_header_is_an_hs256_jws_of_the_directive_ring_typed_step_up(self) -> None:
        self.assertEqual(STEP_UP_HEADER, "X-Edge-Step-Up")
        header, claims = opened(edge_at().step_up_directive(NONCE, "zoë", amr=["pwd", "otp"]), DIRECTIVE_KEY)
        self.assertEqual(header, {"alg": "HS256", "typ": "edge-step-up+jwt", "kid": "d2"})
        self.assertEqual({k: claims[k] for k in ("aud", "sub", "nonce", "amr", "iat")},
                         {"aud": "edge-session", "sub": "zoë", "nonce": NONCE, "amr": ["pwd", "otp"], "iat": NOW})
        self.assertGreater(claims["exp"], claims["iat"])
        # The same lifetime as a login's.
        _, login = opened(edge_at().login_directive(NONCE, "zoë"), DIRECTIVE_KEY)
        self.assertEqual(claims["exp"] - claims["iat"], login["exp"] - login["iat"])
        self.assertEqual(set(claims), {"aud", "iat", "exp", "sub", "nonce", "amr"})
        with self.assertRaisesRegex(AssertionError, "not signed with"):  # the oracle tells keys apart
            opened(edge_at().step_up_directive(NONCE, "zoë"), ORIGIN_KEY)

    def test_without_amr_there_is_no_amr_claim(self) -> None:
        _, claims = opened(edge_at().step_up_directive(NONCE, "ada"), DIRECTIVE_KEY)
        self.assertNotIn("amr", claims)

    def test_without_directive_secret_origin_secret_signs_and_without_either_it_raises(self) -> None:
        header, _ = opened(edge_at(directive_secret="").step_up_directive(NONCE, "ada"), ORIGIN_KEY)
        self.assertEqual(header["kid"], "o1")
        verify_only = EdgeSession(secret="", directive_secret="", admin_secret="", jwks=public_jwks())
        with self.assertRaisesRegex(ValueError, "^DIRECTIVE_SECRET is not set"):
            verify_only.step_up_directive(NONCE, "ada")

    def test_a_bad_amr_sub_or_nonce_raises(self) -> None:
        edge = edge_at()
        for amr in ["pwd", [], [1], ["a b"], ["x" * 17], ["pwd"] * 9, [""], ["pwd\n"], ["pwé"], {"pwd": 1}]:
            with self.subTest(amr=amr), self.assertRaisesRegex(ValueError, AMR_ERROR):
                edge.step_up_directive(NONCE, "ada", amr=amr)  # type: ignore[arg-type]
        with self.assertRaisesRegex(ValueError, "non-empty sub"):
            edge.step_up_directive(NONCE, "")
        for nonce in (None, ""):
            with self.subTest(nonce=nonce), self.assertRaisesRegex(ValueError, "X-Edge-Nonce"):
                edge.step_up_directive(nonce, "ada")

    def test_a_step_up_is_not_a_login(self) -> None:
        """Same ring, another typ: the edge's typ check keeps one from passing for the other."""
        step_up, _ = opened(edge_at().step_up_directive(NONCE, "ada"), DIRECTIVE_KEY)
        login, _ = opened(edge_at().login_directive(NONCE, "ada"), DIRECTIVE_KEY)
        self.assertNotEqual(step_up["typ"], login["typ"])


class RequestStepUp(unittest.TestCase):
    def test_a_signed_in_request_gets_the_header_for_its_own_user(self) -> None:
        edge = request(edge_at(), assertion("zoë ada"))
        assert edge.user is not None
        edge.step_up(amr=["pwd"])
        self.assertEqual(set(edge.response_headers), {STEP_UP_HEADER})
        header, claims = opened(edge.response_headers[STEP_UP_HEADER], DIRECTIVE_KEY)
        self.assertEqual(header["typ"], "edge-step-up+jwt")
        self.assertEqual((claims["sub"], claims["nonce"], claims["amr"]), ("zoë ada", NONCE, ["pwd"]))

    def test_an_anonymous_request_raises_and_sets_nothing(self) -> None:
        forged = assertion()[:-4] + "AAAA"
        for token in (None, forged):
            with self.subTest(token=token):
                if token is None:
                    edge = request(edge_at(), token)
                else:
                    with self.assertLogs("edge_session"):  # edge_assertion_rejected
                        edge = request(edge_at(), token)
                self.assertIsNone(edge.user)
                with self.assertRaisesRegex(ValueError, "signed-in request"):
                    edge.step_up(amr=["pwd"])
                self.assertEqual(edge.response_headers, {})

    def test_a_bad_amr_raises_and_sets_nothing(self) -> None:
        edge = request(edge_at(), assertion())
        with self.assertRaisesRegex(ValueError, AMR_ERROR):
            edge.step_up(amr=["no spaces"])
        self.assertEqual(edge.response_headers, {})

    def test_a_request_that_did_not_come_through_the_edge_raises(self) -> None:
        edge = request(edge_at(), assertion(), nonce=None)
        with self.assertRaisesRegex(ValueError, "X-Edge-Nonce"):
            edge.step_up()
        self.assertNotIn(STEP_UP_HEADER, edge.response_headers)

    def test_the_flask_adapter_puts_it_on_the_response(self) -> None:
        from flask import Flask, g

        from edge_session.flask import EdgeSessionExtension, require_user

        app = Flask(__name__)
        EdgeSessionExtension(app, edge=edge_at())

        @app.post("/confirm")
        @require_user()
        def confirm() -> tuple[str, int]:
            g.edge.step_up(amr=["pwd"])
            return "", 303

        response = app.test_client().post("/confirm", headers={NONCE_HEADER: NONCE, ASSERTION_HEADER: assertion()})
        self.assertEqual(response.status_code, 303)
        self.assertNotIn(LOGIN_HEADER, response.headers)
        _, claims = opened(response.headers[STEP_UP_HEADER], DIRECTIVE_KEY)
        self.assertEqual((claims["sub"], claims["amr"]), ("alice", ["pwd"]))


if __name__ == "__main__":
    unittest.main()
