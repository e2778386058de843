"""edge-session for Python origins (PyJWT).

Who a request is (the edge's verified ``X-Edge-Assertion``), logging users in and out
(the ``X-Edge-Login`` / ``X-Edge-Logout`` directives, bound to the request's
``X-Edge-Nonce``), and "your devices" (the edge's admin API). The framework adapters
(:mod:`edge_session.asgi`, :mod:`edge_session.django`, :mod:`edge_session.flask`) are thin
layers over :class:`EdgeSession` and :class:`EdgeRequest`.

Trust rule: only the verified assertion proves who a request is. ``X-Edge-User`` is a
convenience, safe only if the origin is reachable through the edge alone.

Secrets use the edge's format ``kid:secret[,kid:secret…]``: the first signs, all verify,
and the HMAC key is the UTF-8 text of ``secret``.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Literal, Mapping, Optional

import jwt  # PyJWT

__all__ = [
    "ASSERTION_HEADER", "NONCE_HEADER", "USER_HEADER", "LOGIN_HEADER", "LOGOUT_HEADER",
    "EdgeAdminError", "EdgeRequest", "EdgeSession", "Identity", "decode_user", "parse_keys",
]

ASSERTION_HEADER = "X-Edge-Assertion"
NONCE_HEADER = "X-Edge-Nonce"
USER_HEADER = "X-Edge-User"
LOGIN_HEADER = "X-Edge-Login"
LOGOUT_HEADER = "X-Edge-Logout"

ALGORITHMS = ["HS256"]  # never accept `none` or another algorithm family
ADMIN_MAX_LIFETIME = 60  # the edge refuses admin tokens whose exp - iat is longer
CLOCK_SKEW = 30  # seconds of disagreement allowed between the edge's clock and ours

log = logging.getLogger("edge_session")

HeaderGetter = Callable[[str], Optional[str]]


def parse_keys(text: Optional[str]) -> list[tuple[str, bytes]]:
    """``kid:secret,kid:secret`` → ``[(kid, key_bytes)]``, signing key first."""
    if not text:
        raise ValueError("ORIGIN_SECRET is not set")
    keys = []
    for pair in filter(None, (p.strip() for p in text.split(","))):
        kid, sep, secret = pair.partition(":")
        if not sep or not kid:
            raise ValueError("ORIGIN_SECRET must be kid:secret pairs, comma-separated")
        keys.append((kid, secret.encode()))
    if not keys:
        raise ValueError("ORIGIN_SECRET holds no kid:secret pair")
    return keys


def decode_user(header_value: Optional[str]) -> Optional[str]:
    """``X-Edge-User`` as the ``sub`` it encodes (every byte outside ``A-Za-z0-9._~@+-`` is
    percent-encoded). A convenience: trust the verified assertion's ``sub``."""
    return urllib.parse.unquote(header_value, errors="strict") if header_value is not None else None


@dataclass(frozen=True)
class Identity:
    """Who a request is, from the edge's verified assertion."""

    sub: str
    """The user, as the login directive named them."""
    sid: str
    """The session (the edge's family id), as "your devices" lists it."""
    state: Optional[str]
    """How the edge identified the request: ``fresh``, ``rotated``, ``grace`` or ``recovered``."""
    ctx: Optional[dict[str, Any]]
    """The login directive's ``ctx``, if any."""

    def as_dict(self) -> dict[str, Any]:
        return {"sub": self.sub, "sid": self.sid, "state": self.state, "ctx": self.ctx}


class EdgeAdminError(Exception):
    """The edge's admin API refused a call (``status``, ``body``)."""

    def __init__(self, status: int, body: Any):
        super().__init__(f"edge admin API answered {status}: {body}")
        self.status = status
        self.body = body


class EdgeSession:
    """One origin's view of the edge: its keys, audience and public URL. Every argument
    defaults to the environment: ``ORIGIN_SECRET``, ``ORIGIN_AUDIENCE`` (else ``origin``)
    and ``EDGE_URL`` (the app's public URL, where the edge answers ``/__edge/admin``)."""

    def __init__(self, secret: Optional[str] = None, audience: Optional[str] = None,
                 edge_url: Optional[str] = None):
        self.keys = parse_keys(secret if secret is not None else os.environ.get("ORIGIN_SECRET"))
        self.audience = audience or os.environ.get("ORIGIN_AUDIENCE") or "origin"
        self.edge_url = edge_url if edge_url is not None else os.environ.get("EDGE_URL")

    def identify(self, header: HeaderGetter) -> Optional[Identity]:
        """The identity of a request whose headers ``header(name)`` reads, or ``None``. A
        bad assertion, or identity headers without one (a request that went around the
        edge), is anonymous and logged; it never raises."""
        token = header(ASSERTION_HEADER)
        if not token:
            if header(USER_HEADER):
                log.warning("edge_assertion_missing: identity headers without an assertion")
            return None
        claims = self._verify(token)
        if claims is None:
            return None
        return Identity(sub=claims["sub"], sid=claims["sid"], state=claims.get("state"), ctx=claims.get("ctx"))

    def _verify(self, token: str) -> Optional[dict[str, Any]]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as malformed:
            log.warning("edge_assertion_rejected: %s", malformed)
            return None
        if header.get("typ") != "JWT":  # a directive is not an assertion
            log.warning("edge_assertion_rejected: typ %r", header.get("typ"))
            return None
        candidates = [k for k in self.keys if k[0] == header.get("kid")] or self.keys
        last_error: Optional[Exception] = None
        for _, key in candidates:
            try:
                claims: dict[str, Any] = jwt.decode(
                    token, key, algorithms=ALGORITHMS, audience=self.audience, issuer="edge-session",
                    leeway=CLOCK_SKEW, options={"require": ["exp", "iat", "sub", "sid"]})
                return claims
            except jwt.InvalidTokenError as e:
                last_error = e
        log.warning("edge_assertion_rejected: %s", last_error)
        return None

    def login_directive(self, nonce: Optional[str], sub: str, *, remember: bool = False,
                        ctx: Optional[Mapping[str, Any]] = None) -> str:
        """``X-Edge-Login`` answering the request whose ``X-Edge-Nonce`` is ``nonce``."""
        if not isinstance(sub, str) or not sub:
            raise ValueError("login needs a non-empty sub")
        claims: dict[str, Any] = {"sub": sub, "remember": remember, "nonce": _nonce(nonce)}
        if ctx is not None:
            claims["ctx"] = dict(ctx)
        return self._sign("edge-login+jwt", claims)

    def logout_directive(self, nonce: Optional[str], *, scope: Literal["session", "everywhere"] = "session",
                         sub: Optional[str] = None) -> str:
        """``X-Edge-Logout`` answering that request; ``scope="everywhere"`` with ``sub``
        signs out every session of the user."""
        if scope not in ("session", "everywhere"):
            raise ValueError('scope is "session" or "everywhere"')
        claims: dict[str, Any] = {"scope": scope, "nonce": _nonce(nonce)}
        if sub is not None:
            claims["sub"] = sub
        return self._sign("edge-logout+jwt", claims)

    def admin_token(self, sub: str, act: Literal["list", "revoke", "revoke_all"], *, sid: Optional[str] = None,
                    except_sid: Optional[str] = None, lifetime: int = ADMIN_MAX_LIFETIME) -> str:
        """A bearer token for ``POST /__edge/admin``: every parameter a signed claim, a
        random ``jti`` (single use for revocations), at most 60 s."""
        if not 0 < lifetime <= ADMIN_MAX_LIFETIME:
            raise ValueError(f"lifetime must be 1..{ADMIN_MAX_LIFETIME} s: the edge refuses longer")
        if act == "revoke" and sid is None:
            raise ValueError("revoke needs sid")
        claims: dict[str, Any] = {"sub": sub, "act": act, "jti": secrets.token_urlsafe(12)}
        if sid is not None:
            claims["sid"] = sid
        if except_sid is not None:
            claims["except"] = except_sid
        return self._sign("edge-admin+jwt", claims, lifetime)

    def list_sessions(self, sub: str) -> list[dict[str, Any]]:
        """The user's live sessions, oldest first: ``sid``, ``created_at``, ``last_seen``
        (Unix seconds), ``remember``, ``device_bound``, ``user_agent``, ``country``."""
        sessions: list[dict[str, Any]] = self._admin(sub, "list")["sessions"]
        return sessions

    def revoke_session(self, sub: str, sid: str) -> dict[str, int]:
        """Signs one session of the user out: ``{"revoked", "pending"}``."""
        return self._admin(sub, "revoke", sid=sid)

    def revoke_all(self, sub: str, *, except_sid: Optional[str] = None) -> dict[str, int]:
        """Signs out every session of the user but ``except_sid`` (pass the current sid)."""
        return self._admin(sub, "revoke_all", except_sid=except_sid)

    def _admin(self, sub: str, act: Literal["list", "revoke", "revoke_all"], **params: Any) -> dict[str, Any]:
        if not self.edge_url:
            raise ValueError("EDGE_URL (edge_url) is not set: the admin API is on the app's public URL")
        token = self.admin_token(sub, act, **params)
        request = urllib.request.Request(self.edge_url.rstrip("/") + "/__edge/admin", data=b"", method="POST",
                                         headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                answer: dict[str, Any] = json.load(response)
                return answer
        except urllib.error.HTTPError as error:  # 4xx/5xx still carry a JSON answer
            with error:
                body = error.read()
            try:
                body = json.loads(body)
            except ValueError:
                pass
            raise EdgeAdminError(error.code, body) from None

    def _sign(self, typ: str, claims: dict[str, Any], lifetime: int = 120) -> str:
        kid, key = self.keys[0]
        now = int(time.time())
        payload = {"aud": "edge-session", "iat": now, "exp": now + lifetime, **claims}
        return jwt.encode(payload, key, algorithm="HS256", headers={"typ": typ, "kid": kid})

    def request(self, header: HeaderGetter) -> "EdgeRequest":
        """What a handler works with for one request (see :class:`EdgeRequest`)."""
        return EdgeRequest(self, self.identify(header), header(NONCE_HEADER))


class EdgeRequest:
    """One request, whatever the framework: ``user`` (an :class:`Identity` or ``None``) and
    ``login`` / ``logout`` / ``adopt``, which put a directive on this request's response.
    The adapters copy :attr:`response_headers` onto the response."""

    def __init__(self, edge: EdgeSession, user: Optional[Identity], nonce: Optional[str]):
        self.edge = edge
        self.user = user
        self.nonce = nonce
        self.response_headers: dict[str, str] = {}

    def login(self, sub: str, *, remember: bool = False, ctx: Optional[Mapping[str, Any]] = None) -> None:
        """Logs ``sub`` in when this response reaches the edge."""
        self.response_headers[LOGIN_HEADER] = self.edge.login_directive(self.nonce, sub, remember=remember, ctx=ctx)

    def logout(self, *, scope: Literal["session", "everywhere"] = "session", sub: Optional[str] = None) -> None:
        """Logs this session out (``scope="everywhere"``: every session of ``sub``)."""
        self.response_headers[LOGOUT_HEADER] = self.edge.logout_directive(self.nonce, scope=scope, sub=sub)

    def adopt(self, sub: Optional[str], *, remember: bool = False) -> bool:
        """The migration bridge: a request that still carries the app's own (legacy)
        session for ``sub`` and no edge identity is answered with a login directive, so
        the next request is an edge session. Returns whether it did."""
        if self.user is not None or not sub:
            return False
        self.login(sub, remember=remember)
        return True


def _nonce(nonce: Optional[str]) -> str:
    # The edge ignores a directive that does not echo the X-Edge-Nonce of the request it
    # answers, so a cached or captured response can never log anyone else in.
    if not nonce:
        raise ValueError("no X-Edge-Nonce: a directive can only answer a request that came through the edge")
    return nonce
