"""edge-session for Python origins (PyJWT).

Who a request is (the edge's verified ``X-Edge-Assertion``), logging users in and out
(the ``X-Edge-Login`` / ``X-Edge-Logout`` directives, bound to the request's
``X-Edge-Nonce``), recording that a user proved who they are again (``X-Edge-Step-Up``),
"your devices" (the edge's admin API), and the security events the
edge POSTs to the operator's webhook (:func:`parse_event`). The framework adapters
(:mod:`edge_session.asgi`, :mod:`edge_session.django`, :mod:`edge_session.flask`) are thin
layers over :class:`EdgeSession` and :class:`EdgeRequest`.

Trust rule: only the verified assertion proves who a request is. ``X-Edge-User`` is a
convenience, safe only if the origin is reachable through the edge alone.

Secrets use the edge's format ``kid:secret[,kid:secret…]``: the first signs, all verify,
and the HMAC key is the UTF-8 text of ``secret``. With the edge's ``ASSERTION_ALG=ES256``,
assertions verify with its public JWKS instead (``EDGE_JWKS_URL`` or ``EDGE_JWKS``; the
``[es256]`` extra), and a service that only verifies holds no secret at all.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import secrets
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.client import HTTPMessage
from typing import IO, Any, Callable, Literal, Mapping, Optional, Sequence

import jwt  # PyJWT

from . import _jwks

__all__ = [
    "ASSERTION_HEADER", "NONCE_HEADER", "USER_HEADER", "STATE_HEADER", "LOGIN_HEADER", "LOGOUT_HEADER",
    "STEP_UP_HEADER",
    "AssertionRefused", "EdgeAdminError", "EdgeRequest", "EdgeSession", "Identity", "decode_user", "parse_event",
    "parse_keys",
]

ASSERTION_HEADER = "X-Edge-Assertion"
NONCE_HEADER = "X-Edge-Nonce"
USER_HEADER = "X-Edge-User"
STATE_HEADER = "X-Edge-Session-State"
LOGIN_HEADER = "X-Edge-Login"
LOGOUT_HEADER = "X-Edge-Logout"
STEP_UP_HEADER = "X-Edge-Step-Up"

ISSUER = "edge-session"
ALGORITHMS = ["HS256"]  # never accept `none` or another algorithm family
# P-256's group order: an ES256 signature's r and s are in [1, N - 1].
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
ADMIN_MAX_LIFETIME = 60  # the edge refuses admin tokens whose exp - iat is longer
ASSERTION_MAX_LIFETIME = 60  # the edge issues assertions for 60 s; longer was not made by it
# The edge signs an event again at each webhook delivery attempt, valid 300 s: a captured
# delivery replayed later is refused. (A redelivery, same jti, can come for up to a day.)
EVENT_WEBHOOK_LIFETIME = 300
# A queue message is signed for 4 days (a Cloudflare Queue's default retention), so a
# consumer that fell behind still verifies it; only ``queue=True`` accepts that much, so a
# queue message replayed to a webhook is refused.
EVENT_QUEUE_LIFETIME = 4 * 24 * 3600
EVENT_TYPE = "edge-event+jwt"
MAX_SUB_BYTES = 256  # the edge's rule for a sub it carries (it goes into a header): 1 to 256 UTF-8 bytes
CLOCK_SKEW = 30  # seconds of disagreement allowed between the edge's clock and ours
# The edge's bound: far above any assertion, and it caps the work an unauthenticated
# header can cause before its MAC is checked.
MAX_TOKEN_LEN = 8192

# ORIGIN_SECRET's rules, the edge's (KeyRing::parse): a bad ring fails at startup, not as
# a signature that never verifies.
MAX_KEYS = 8
MIN_SECRET_CHARS = 32
MAX_SECRET_CHARS = 512
_KID = re.compile(r"[A-Za-z0-9_-]{1,16}")
# Unicode's White_Space property, exactly (what the edge trims): str.strip() would also
# strip U+001C..U+001F, and the edge would then refuse a ring this package accepts.
_WHITE_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
# A session id (the edge's family id, ``sid``): 16 bytes as canonical base64url, 22
# characters whose last holds 2 bits and 4 zero bits (the Rust crate's FamilyId::parse).
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{21}[AQgw]")
# A login's or step-up's ``amr`` as the edge takes it (RFC 8176 method names): 1 to 8 of these.
MAX_AMR = 8
_AMR_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,16}")

log = logging.getLogger("edge_session")

HeaderGetter = Callable[[str], Optional[str]]
Clock = Callable[[], float]


def parse_keys(text: Optional[str], name: str = "ORIGIN_SECRET") -> list[tuple[str, bytes]]:
    """``kid:secret,kid:secret`` → ``[(kid, key_bytes)]``, signing key first; the key is the
    secret's UTF-8 bytes. A refusal (``ValueError``) names the problem, the variable
    (``name``) and the key's position, never a secret, nor a kid (in a malformed ring it may
    be a piece of a secret)."""
    if text is None:
        raise ValueError(f"{name} is not set")
    pairs = [p for p in (p.strip(_WHITE_SPACE) for p in text.split(",")) if p]
    if not pairs:
        raise ValueError(f"{name} holds no kid:secret pair")
    if len(pairs) > MAX_KEYS:
        raise ValueError(f"{name} holds more than {MAX_KEYS} keys")
    keys = [_parse_key(pair, f"{name} key #{i}") for i, pair in enumerate(pairs, 1)]
    kids = [kid for kid, _ in keys]
    for i, kid in enumerate(kids):
        if kid in kids[:i]:
            raise ValueError(f"{name} key #{i + 1} reuses an earlier key id")
    return keys


def _parse_key(pair: str, which: str) -> tuple[str, bytes]:
    kid, sep, secret = pair.partition(":")
    if not sep:
        raise ValueError(f"{which} has no ':' between key id and secret")
    if not _KID.fullmatch(kid):  # fullmatch: `$` would also match before a final newline
        raise ValueError(f"{which} has a key id outside [A-Za-z0-9_-]{{1,16}}")
    if not MIN_SECRET_CHARS <= len(secret) <= MAX_SECRET_CHARS:  # len: Unicode scalar values, as the edge counts
        raise ValueError(f"{which}: the secret must be {MIN_SECRET_CHARS} to {MAX_SECRET_CHARS} characters")
    if any(c in _WHITE_SPACE or unicodedata.category(c) == "Cc" for c in secret):
        raise ValueError(f"{which}: the secret contains whitespace or control characters")
    return kid, secret.encode()


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
    state: str
    """How the edge identified the request: ``fresh``, ``rotated``, ``grace`` or ``recovered``."""
    ctx: Optional[dict[str, Any]]
    """The login directive's ``ctx``, if any."""
    context_changed: Optional[int] = None
    """When the session refreshed from another country, network (ASN) or browser family,
    in Unix seconds; ``None`` if it did not, or unless the edge runs
    ``ON_CONTEXT_CHANGE=flag``. A signal, not a verdict (a phone changes networks):
    ``require_recent_auth`` refuses a change after ``auth_time``, and
    :meth:`EdgeRequest.step_up` records the password asked again in this session (its
    ``auth_time`` moves past the change)."""
    auth_time: Optional[int] = None
    """When the user last proved who they are (the login, or a later step-up), Unix seconds: OIDC's
    ``auth_time``; ``None`` only from an edge older than the claim.
    :meth:`EdgeRequest.signed_in_within` and ``require_recent_auth`` compare it with the
    clock before a sensitive action."""
    amr: Optional[list[str]] = None
    """How they proved it: the RFC 8176 names (``["pwd", "otp"]``) that the login, or the
    last step-up since, gave; else ``None``."""

    def as_dict(self) -> dict[str, Any]:
        return {"sub": self.sub, "sid": self.sid, "state": self.state, "ctx": self.ctx,
                "context_changed": self.context_changed, "auth_time": self.auth_time, "amr": self.amr}


class EdgeAdminError(Exception):
    """The edge's admin API refused a call (``status``, ``body``)."""

    def __init__(self, status: int, body: Any):
        super().__init__(f"edge admin API answered {status}: {body}")
        self.status = status
        self.body = body


class AssertionRefused(Exception):
    """Why :meth:`EdgeSession.verify_assertion` (or :func:`parse_event`) refused a token;
    the message is the reason."""


def parse_event(body: str | bytes, secret: Optional[str] = None, audience: Optional[str] = None,
                now: Optional[float] = None, *, queue: bool = False) -> dict[str, Any]:
    """A security event the edge POSTed to the operator's webhook (``EVENTS_URL``),
    verified: a dict with ``jti``, ``type``, ``sub``, ``sid``, ``time``, ``device``, and
    ``revoked``, ``by``, ``previous``, ``action``, ``skipped`` when its type has them.
    ``body`` is the request's raw body (text or bytes). Raises :class:`AssertionRefused`
    with the reason for anything the edge did not sign with ``secret`` for ``audience`` in
    the last 5 minutes, and ``ValueError`` for a missing or malformed ``secret``.
    ``queue=True`` verifies the body of a message taken from the ``EVENTS`` Cloudflare Queue
    instead, which the edge signs for 4 days; without it such a message is refused (one
    replayed to a webhook). Defaults: ``EVENTS_SECRET`` (never ``ORIGIN_SECRET``: a
    receiver holding it can verify events and mint nothing), ``ORIGIN_AUDIENCE`` (else
    ``origin``), and the system clock (``now``, Unix seconds)."""
    keys = parse_keys(secret if secret is not None else os.environ.get("EVENTS_SECRET"), "EVENTS_SECRET")
    audience = audience or os.environ.get("ORIGIN_AUDIENCE") or "origin"
    return _verify_event(body, keys, audience, int(time.time() if now is None else now), queue)


class EdgeSession:
    """One origin's view of the edge: its keys, audience and public URL. Every argument
    defaults to the environment: ``ORIGIN_SECRET`` (verifies HS256 assertions),
    ``EDGE_JWKS_URL`` or ``EDGE_JWKS`` (verify ES256 assertions; ``jwks_url``, ``jwks``),
    ``ORIGIN_AUDIENCE`` (else ``origin``), ``EDGE_URL`` (the app's public URL, where the
    edge answers ``/__edge/admin``), ``EVENTS_SECRET`` (for :meth:`parse_event`),
    ``DIRECTIVE_SECRET`` (signs logins and logouts) and ``ADMIN_SECRET`` (signs admin
    tokens); the last two, unset or blank, are ``ORIGIN_SECRET``, as the edge reads them.
    At least one of ``ORIGIN_SECRET``, ``EDGE_JWKS_URL`` and ``EDGE_JWKS`` must be set
    (blank is unset); with only a JWKS, this service verifies identities and signs nothing
    unless given ``DIRECTIVE_SECRET`` or ``ADMIN_SECRET``.

    ``jwks_url`` is the edge's ``https://<app>/__edge/jwks.json`` (plain http only to a
    loopback host), fetched on the first ES256 assertion and kept 5 minutes. ``jwks`` is
    the JWKS itself, as JSON text or an already parsed dict. Either needs the
    ``cryptography`` package (``pip install "edge-session-origin[es256]"``), else
    construction raises ``ImportError``. ``clock`` returns the time in Unix seconds (default
    ``time.time``); tests pass their own to verify at a given time, and the JWKS cache
    measures its 5 minutes, 30 s cooldown and 24 hours by it."""

    def __init__(self, secret: Optional[str] = None, audience: Optional[str] = None,
                 edge_url: Optional[str] = None, clock: Optional[Clock] = None,
                 events_secret: Optional[str] = None, directive_secret: Optional[str] = None,
                 admin_secret: Optional[str] = None, *, jwks: Optional[str | Mapping[str, Any]] = None,
                 jwks_url: Optional[str] = None):
        self.clock: Clock = clock or time.time
        secret = _setting(secret, "ORIGIN_SECRET")
        jwks = jwks if isinstance(jwks, Mapping) else _setting(jwks, "EDGE_JWKS")
        self.jwks_url = _setting(jwks_url, "EDGE_JWKS_URL")
        if secret is None and jwks is None and self.jwks_url is None:
            raise ValueError("none of ORIGIN_SECRET, EDGE_JWKS_URL and EDGE_JWKS is set: ORIGIN_SECRET verifies "
                             "HS256 assertions, EDGE_JWKS_URL (or EDGE_JWKS) the edge's ES256 ones")
        # Empty without ORIGIN_SECRET: HS256 assertions are then refused.
        self.keys = parse_keys(secret) if secret is not None else []
        self._es256 = self._es256_keys(jwks, self.jwks_url)
        # What the edge verifies each job with; ``keys`` only verifies assertions.
        self.directive_keys = self._job_keys(directive_secret, "DIRECTIVE_SECRET")
        self.admin_keys = self._job_keys(admin_secret, "ADMIN_SECRET")
        self.audience = audience or os.environ.get("ORIGIN_AUDIENCE") or "origin"
        self.edge_url = edge_url if edge_url is not None else os.environ.get("EDGE_URL")
        if self.edge_url:  # only the admin client needs it, but a malformed one fails at startup
            _admin_endpoint(self.edge_url)
        events = events_secret if events_secret is not None else os.environ.get("EVENTS_SECRET")
        # Only parse_event needs it, but a malformed one fails at startup too.
        self.event_keys = parse_keys(events, "EVENTS_SECRET") if events else None

    def _es256_keys(self, jwks: Optional[str | Mapping[str, Any]], url: Optional[str]) -> Optional[_jwks.KeySet]:
        """The ES256 keys, or ``None`` (ES256 assertions refused). Everything that can be
        wrong with them fails here, at startup, not at the first ES256 request."""
        if jwks is None and url is None:
            return None
        if jwks is not None and url is not None:
            raise ValueError("EDGE_JWKS and EDGE_JWKS_URL are both set: give the JWKS, or where to fetch it, not both")
        if not _jwks.HAVE_CRYPTO:
            raise ImportError(f"{'EDGE_JWKS_URL' if url else 'EDGE_JWKS'} verifies ES256 assertions, which needs "
                              "the cryptography package: pip install \"edge-session-origin[es256]\"")
        clock = lambda: self.clock()  # noqa: E731 (follows a clock replaced after construction)
        if url is not None:
            return _jwks.KeySet([], _jwks.check_url(url), clock)  # fetched on first use
        assert jwks is not None
        return _jwks.KeySet(_jwks.parse_static(jwks), None, clock)

    def _job_keys(self, given: Optional[str], name: str) -> list[tuple[str, bytes]]:
        """``DIRECTIVE_SECRET`` or ``ADMIN_SECRET`` (``name``): its own ring when set, else
        ``ORIGIN_SECRET``'s (none, in a service that only verifies: signing then raises).
        Malformed, it raises ``ValueError`` naming the variable."""
        text = given if given is not None else os.environ.get(name)
        if text is None or not text.strip(_WHITE_SPACE):
            return self.keys
        return parse_keys(text, name)

    def identify(self, header: HeaderGetter) -> Optional[Identity]:
        """The identity of a request whose headers ``header(name)`` reads, or ``None``. A
        bad assertion, or identity headers without one (a request that went around the
        edge), is anonymous and logged; it never raises."""
        token = header(ASSERTION_HEADER)
        if not token:
            if header(USER_HEADER):
                log.warning("edge_assertion_missing: identity headers without an assertion")
            return None
        try:
            claims = self.verify_assertion(token)
        except AssertionRefused as refused:
            log.warning("edge_assertion_rejected: %s", refused)
            return None
        return Identity(sub=claims["sub"], sid=claims["sid"], state=claims["state"], ctx=claims.get("ctx"),
                        context_changed=_numeric_date(claims.get("context_changed")),
                        auth_time=_numeric_date(claims.get("auth_time")), amr=claims.get("amr"))

    def verify_assertion(self, token: str) -> dict[str, Any]:
        """The claims of a valid ``X-Edge-Assertion`` at ``clock()``; raises
        :class:`AssertionRefused` otherwise. PyJWT checks the MAC or the ECDSA signature;
        the rest is here, so that each rule is exactly the edge's (PyJWT alone would take
        lenient base64, a ``crit`` header, and an ``exp`` written as a string). HS256 is
        verified with ``ORIGIN_SECRET`` only and ES256 with the JWKS only: a public key is
        never an HMAC secret, whatever the header says (RFC 8725 §2.1)."""
        header, signature = _parse_jws(token)
        self._check_alg_has_keys(header.get("alg"))
        _check_header(header, "jwt", self._algorithms())
        if header["alg"] == "ES256":
            payload = self._verify_es256(token, header, signature)
        else:
            payload = _verify_mac(token, _candidates(self.keys, header))
        claims = _json_object(payload)
        _check_times(claims, self.audience, int(self.clock()), ASSERTION_MAX_LIFETIME)
        _check_assertion_claims(claims)
        return claims

    def _algorithms(self) -> tuple[str, ...]:
        """The assertion algorithms this service has keys for (both during a switch-over)."""
        return (("HS256",) if self.keys else ()) + (("ES256",) if self._es256 else ())

    def _check_alg_has_keys(self, alg: Any) -> None:
        """An edge's algorithm we hold no key for is refused naming what to set: during a
        switch-over, this is what the log says."""
        if alg == "ES256" and self._es256 is None:
            raise AssertionRefused("alg ES256, and neither EDGE_JWKS_URL nor EDGE_JWKS is set")
        if alg == "HS256" and not self.keys:
            raise AssertionRefused("alg HS256, and ORIGIN_SECRET is not set")

    def _verify_es256(self, token: str, header: dict[str, Any], signature: bytes) -> bytes:
        """The payload of an ES256 assertion signed by a key of the JWKS. A fetched JWKS is
        fetched on first use and when stale, and again (within the cooldown) for a ``kid`` it
        lacks (or names twice: ``_jwks.named``), or, without a ``kid``, when no key
        verifies: the edge rotated its key."""
        assert self._es256 is not None
        _check_es256_signature(signature)  # before any fetch: garbage never makes one
        kid = _kid(header)
        jwks = self._es256
        if jwks.stale():
            generation, keys = jwks.snapshot()
            # Keys that name this kid verify while another request fetches newer ones.
            jwks.refresh(generation, wait=not (keys and (kid is None or _jwks.named(keys, kid))))
        generation, keys = jwks.snapshot()
        payload = _verify_ecdsa(token, keys, kid)
        if payload is None and (kid is None or not _jwks.named(keys, kid)) and jwks.refresh(generation):
            keys = jwks.snapshot()[1]
            payload = _verify_ecdsa(token, keys, kid)
        if payload is None:
            raise AssertionRefused("unknown kid" if kid is not None and not _jwks.named(keys, kid) else "bad signature")
        return payload

    def _may_fetch_jwks(self, token: Optional[str]) -> bool:
        """Whether verifying ``token`` could fetch the JWKS, and so block for up to 5 s
        (the ASGI middleware then verifies it in a thread, off the event loop)."""
        if self._es256 is None or self._es256.url is None or not token:
            return False
        try:
            header, _ = _parse_jws(token)
        except AssertionRefused:
            return False
        kid = header.get("kid")
        return header.get("alg") == "ES256" and self._es256.may_fetch(kid if isinstance(kid, str) else None)

    def parse_event(self, body: str | bytes, *, queue: bool = False) -> dict[str, Any]:
        """:func:`parse_event` (``queue=True``: a queue message's body) with this origin's
        ``events_secret``, ``audience`` and ``clock``; ``ValueError`` if ``EVENTS_SECRET``
        is not set."""
        if self.event_keys is None:
            raise ValueError("EVENTS_SECRET (events_secret) is not set")
        return _verify_event(body, self.event_keys, self.audience, int(self.clock()), queue)

    def login_directive(self, nonce: Optional[str], sub: str, *, remember: bool = False,
                        ctx: Optional[Mapping[str, Any]] = None, amr: Optional[Sequence[str]] = None,
                        auth_time: Optional[int] = None) -> str:
        """``X-Edge-Login`` answering the request whose ``X-Edge-Nonce`` is ``nonce``, signed
        with ``DIRECTIVE_SECRET`` (else ``ORIGIN_SECRET``). ``amr``: how the user proved who
        they are (RFC 8176: ``["pwd"]``, ``["pwd", "otp"]``…), which every assertion of the
        session then carries; 1 to 8 names of ``[A-Za-z0-9_.:-]{1,16}``, else ``ValueError``."""
        if not isinstance(sub, str) or not sub:
            raise ValueError("login needs a non-empty sub")
        _require_amr(amr)
        claims: dict[str, Any] = {"sub": sub, "remember": remember, "nonce": _nonce(nonce)}
        if ctx is not None:
            claims["ctx"] = dict(ctx)
        if amr is not None:
            claims["amr"] = list(amr)
        if auth_time is not None:
            # When the proof was, if not now: the bridge's adoption says 0 (never recent).
            claims["auth_time"] = auth_time
        return self._sign("edge-login+jwt", claims, self.directive_keys, "DIRECTIVE_SECRET")

    def step_up_directive(self, nonce: Optional[str], sub: str, *, amr: Optional[Sequence[str]] = None) -> str:
        """``X-Edge-Step-Up`` answering the request whose ``X-Edge-Nonce`` is ``nonce``:
        ``sub``, the user of that request's session, just proved who they are again (a
        password re-entered, a second factor), by ``amr`` (checked as a login's, else
        ``ValueError``). Signed as a login is (``DIRECTIVE_SECRET``, else ``ORIGIN_SECRET``),
        typed ``edge-step-up+jwt`` so that no login or logout passes for one. The edge moves
        the session's ``auth_time`` to now and rotates its credential in place (same
        ``sid``); it ignores a step-up on an anonymous request, or whose ``sub`` is not the
        session's user: a step-up never changes who a browser is."""
        if not isinstance(sub, str) or not sub:
            raise ValueError("a step-up needs a non-empty sub")
        _require_amr(amr)
        claims: dict[str, Any] = {"sub": sub, "nonce": _nonce(nonce)}
        if amr is not None:
            claims["amr"] = list(amr)
        return self._sign("edge-step-up+jwt", claims, self.directive_keys, "DIRECTIVE_SECRET")

    def logout_directive(self, nonce: Optional[str], *, scope: Literal["session", "everywhere"] = "session",
                         sub: Optional[str] = None) -> str:
        """``X-Edge-Logout`` answering that request, signed with ``DIRECTIVE_SECRET`` (else
        ``ORIGIN_SECRET``); ``scope="everywhere"`` with ``sub`` signs out every session of the
        user. ``scope="everywhere"`` without ``sub`` raises ``ValueError`` ("scope everywhere
        needs sub"): the edge would refuse it."""
        if scope not in ("session", "everywhere"):
            raise ValueError('scope is "session" or "everywhere"')
        if scope == "everywhere" and not (isinstance(sub, str) and sub):
            raise ValueError("scope everywhere needs sub")
        claims: dict[str, Any] = {"scope": scope, "nonce": _nonce(nonce)}
        if sub is not None:
            claims["sub"] = sub
        return self._sign("edge-logout+jwt", claims, self.directive_keys, "DIRECTIVE_SECRET")

    def admin_token(self, sub: str, act: Literal["list", "revoke", "revoke_all"], *, sid: Optional[str] = None,
                    except_sid: Optional[str] = None, lifetime: int = ADMIN_MAX_LIFETIME) -> str:
        """A bearer token for ``POST /__edge/admin``, signed with ``ADMIN_SECRET`` (else
        ``ORIGIN_SECRET``): every parameter a signed claim, a random ``jti`` (single use for
        revocations), at most 60 s. A ``sid`` or ``except_sid`` that is not a session id
        raises ``ValueError`` ("not a session id")."""
        if not 0 < lifetime <= ADMIN_MAX_LIFETIME:
            raise ValueError(f"lifetime must be 1..{ADMIN_MAX_LIFETIME} s: the edge refuses longer")
        if act == "revoke" and sid is None:
            raise ValueError("revoke needs sid")
        # The edge would refuse the token as a whole (401 invalid token), which reads like
        # a wrong secret: a malformed id is named here instead.
        for given in (sid, except_sid):
            if given is not None:
                _require_session_id(given)
        claims: dict[str, Any] = {"sub": sub, "act": act, "jti": secrets.token_urlsafe(12)}
        if sid is not None:
            claims["sid"] = sid
        if except_sid is not None:
            claims["except"] = except_sid
        return self._sign("edge-admin+jwt", claims, self.admin_keys, "ADMIN_SECRET", lifetime)

    def list_sessions(self, sub: str) -> list[dict[str, Any]]:
        """The user's live sessions, oldest first, each a dict: ``sid``, ``created_at``,
        ``last_seen`` (Unix seconds), ``remember``, ``device_bound``, ``user_agent``,
        ``browser``, ``os``, ``country`` (the last four may be ``None``; ``browser`` and
        ``os`` are read from the user agent, for "Chrome on Windows"). No entry is marked as the current one:
        compare ``sid`` with the request user's ``sid``."""
        sessions: list[dict[str, Any]] = self._admin(sub, "list")["sessions"]
        return sessions

    def revoke_session(self, sub: str, sid: str) -> dict[str, int]:
        """Signs one session of the user out: ``{"revoked": n, "pending": n}``. A ``sid``
        that is not a session id raises ``ValueError`` before any call; one that is not the
        user's session raises :class:`EdgeAdminError` with status 404."""
        return self._admin(sub, "revoke", sid=sid)

    def revoke_all(self, sub: str, *, except_sid: Optional[str] = None) -> dict[str, int]:
        """Signs out every session of the user but ``except_sid`` (pass the current sid):
        ``{"revoked": n, "pending": n}``."""
        return self._admin(sub, "revoke_all", except_sid=except_sid)

    def _admin(self, sub: str, act: Literal["list", "revoke", "revoke_all"], **params: Any) -> dict[str, Any]:
        if not self.edge_url:
            raise ValueError("EDGE_URL (edge_url) is not set: the admin API is on the app's public URL")
        url = _admin_endpoint(self.edge_url)
        token = self.admin_token(sub, act, **params)
        request = urllib.request.Request(url, data=b"", method="POST", headers={"Authorization": f"Bearer {token}"})
        try:
            with _ADMIN_OPENER.open(request, timeout=10) as response:
                answer: dict[str, Any] = json.load(response)
                return answer
        except urllib.error.HTTPError as error:  # 4xx/5xx still carry a JSON answer; a 3xx is one too
            with error:
                body = error.read()
            try:
                body = json.loads(body)
            except ValueError:
                pass
            raise EdgeAdminError(error.code, body) from None

    def _sign(self, typ: str, claims: dict[str, Any], keys: list[tuple[str, bytes]], name: str,
              lifetime: int = 120) -> str:
        """Signed with the first key of ``keys``: the directive ring or the admin ring
        (``name``), which a service verifying with the JWKS alone does not have."""
        if not keys:
            raise ValueError(f"{name} is not set: this service only verifies identities (no ORIGIN_SECRET either)")
        kid, key = keys[0]
        now = int(self.clock())
        payload = {"aud": "edge-session", "iat": now, "exp": now + lifetime, **claims}
        return jwt.encode(payload, key, algorithm="HS256", headers={"typ": typ, "kid": kid})

    def request(self, header: HeaderGetter) -> "EdgeRequest":
        """What a handler works with for one request (see :class:`EdgeRequest`)."""
        return EdgeRequest(self, self.identify(header), header(NONCE_HEADER), header(STATE_HEADER))


class EdgeRequest:
    """One request, whatever the framework: ``user`` (an :class:`Identity` or ``None``),
    ``refusal``, and ``login`` / ``logout`` / ``step_up`` / ``adopt``, which put a directive
    on this request's response. The adapters copy :attr:`response_headers` onto the response.

    ``state`` is the request's ``X-Edge-Session-State``. The edge strips it from every
    client request and sets it itself: on an identified request it is the assertion's
    state; on an anonymous one, why the edge refused the edge cookie it carried. It is
    absent when there was no edge cookie."""

    def __init__(self, edge: EdgeSession, user: Optional[Identity], nonce: Optional[str],
                 state: Optional[str] = None):
        self.edge = edge
        self.user = user
        self.nonce = nonce
        self.state = state
        self.response_headers: dict[str, str] = {}
        # Whether the login on this response came from adopt(), and whether logout() was called.
        self._adopted = False
        self._logged_out = False

    @property
    def refusal(self) -> Optional[str]:
        """Why the edge refused this anonymous request's edge cookie (``ended``,
        ``expired``, ``reused``, ``device_bound``, ``invalid``), else ``None``."""
        return self.state if self.user is None else None

    def signed_in_within(self, max_age: float) -> bool:
        """Whether the user signed in (``auth_time``) at most ``max_age`` seconds ago by the
        edge's ``clock``, and the session has not refreshed from another context since
        (``context_changed`` is ``None`` or not after ``auth_time``): what a sensitive
        action asks. ``False`` when anonymous, and for an ``auth_time`` more than
        :data:`CLOCK_SKEW` ahead of the clock: the edge signs none, and an origin whose
        clock lags would otherwise take it as recent for longer than ``max_age``."""
        _require_max_age(max_age)
        user = self.user
        if user is None or user.auth_time is None:
            return False
        now = int(self.edge.clock())
        return (user.auth_time <= now + CLOCK_SKEW and now - user.auth_time <= max_age
                and (user.context_changed is None or user.context_changed <= user.auth_time))

    def login(self, sub: str, *, remember: bool = False, ctx: Optional[Mapping[str, Any]] = None,
              amr: Optional[Sequence[str]] = None) -> None:
        """Logs ``sub`` in when this response reaches the edge (``amr``: how the user proved
        who they are, see :meth:`EdgeSession.login_directive`). It replaces a login that
        :meth:`adopt` put there, and a :meth:`logout` beside it keeps it (an account switch)."""
        self.response_headers[LOGIN_HEADER] = self.edge.login_directive(self.nonce, sub, remember=remember, ctx=ctx,
                                                                        amr=amr)
        # The app's own login replaced the bridge's: a logout must no longer take it back.
        # (adopt() calls this, then marks its own login again.)
        self._adopted = False

    def step_up(self, *, amr: Optional[Sequence[str]] = None) -> None:
        """Records that this request's user just proved who they are again (``amr``: how,
        e.g. ``["pwd"]``): when this response reaches the edge, the session's ``auth_time``
        moves to now and its credential rotates in place (same ``sid``), so
        ``require_recent_auth`` passes on the next request. Call it after checking the
        password again. On an anonymous request it raises ``ValueError`` and sets nothing:
        a step-up is not a login. Beside a login or logout on the same response, the edge
        ignores it (they end this session)."""
        if self.user is None:
            raise ValueError("step_up needs a signed-in request: use login for an anonymous one")
        self.response_headers[STEP_UP_HEADER] = self.edge.step_up_directive(self.nonce, self.user.sub, amr=amr)

    def logout(self, *, scope: Literal["session", "everywhere"] = "session", sub: Optional[str] = None) -> None:
        """Logs this session out (``scope="everywhere"``: every session of ``sub``, by
        default this request's user; on an anonymous request without ``sub`` it raises
        ``ValueError``, "scope everywhere needs sub"). A login that :meth:`adopt` put on
        this response is taken back; an explicit :meth:`login` stays (an account switch)."""
        if scope == "everywhere" and sub is None and self.user is not None:
            sub = self.user.sub
        self.response_headers[LOGOUT_HEADER] = self.edge.logout_directive(self.nonce, scope=scope, sub=sub)
        # The edge applies logout then login: the bridge's login would undo this logout.
        if self._adopted:
            self.response_headers.pop(LOGIN_HEADER, None)
            self._adopted = False
        self._logged_out = True

    def adopt(self, sub: Optional[str], *, remember: bool = False) -> bool:
        """The migration bridge: a request that still carries the app's own (legacy)
        session for ``sub``, no edge identity and no edge cookie is answered with a login
        directive, so the next request is an edge session. Returns whether it did. Clear
        the legacy session in this same response. After :meth:`logout` on this request it
        does nothing and returns ``False``."""
        if self.user is not None or not sub or self._logged_out:
            return False
        if self.state is not None:
            # The edge refused this jar's edge cookie (logged out everywhere, revoked,
            # reused, or a device-bound session's cookie without its key). The legacy
            # session beside it is from the same jar: logging it in would undo that.
            log.warning("edge_adopt_refused: refusal=%s", self.state)
            return False
        if not self.nonce:
            log.warning("edge_adopt_no_nonce: no X-Edge-Nonce, the request did not come through the edge")
            return False
        # The app's old session is no proof of presence now: auth_time 0, so
        # require_recent_auth still asks for a password.
        self.response_headers[LOGIN_HEADER] = self.edge.login_directive(self.nonce, sub, remember=remember, auth_time=0)
        self._adopted = True
        return True


def _admin_endpoint(edge_url: str) -> str:
    """``{edge_url}/__edge/admin``, parsed rather than concatenated: an ``EDGE_URL`` with a
    path, query or credentials would send the bearer token to a path the edge does not
    answer, which it forwards to the app, ``Authorization`` included. The rule is the Rust
    crate's: ``http(s)://host[:port]``, an optional trailing slash. A refusal names the rule
    it broke, never the value: with the arguments swapped, that would be ``ORIGIN_SECRET``."""
    def refused(rule: str) -> ValueError:
        return ValueError("EDGE_URL (edge_url) must be http(s)://host[:port], with no path, query, fragment "
                          f"or credentials: {rule}")

    # urlsplit would drop tabs and newlines, and read a backslash as part of the host.
    if any(c.isspace() or unicodedata.category(c) == "Cc" or c == "\\" for c in edge_url):
        raise refused("it is not a URL")
    try:
        parts = urllib.parse.urlsplit(edge_url)
        parts.port  # a port that is not a number raises, with the value in its message
    except ValueError:
        raise refused("it is not a URL") from None
    if parts.scheme not in ("http", "https"):
        raise refused("the scheme is not http or https")
    if "@" in parts.netloc:
        raise refused("it has credentials")
    if not parts.hostname:
        raise refused("it has no host")
    if parts.path not in ("", "/"):
        raise refused("it has a path")
    # On the text: urlsplit reads "/?" as no query and "/#" as no fragment.
    if "?" in edge_url:
        raise refused("it has a query")
    if "#" in edge_url:
        raise refused("it has a fragment")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/__edge/admin", "", ""))


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """The edge's admin API never redirects. urllib would follow a 301, 302 or 303 as a GET
    that keeps ``Authorization``, to any host; refused, the 3xx is an ``HTTPError``, and so
    an :class:`EdgeAdminError`."""

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str,
                         headers: HTTPMessage, newurl: str) -> None:
        return None


_ADMIN_OPENER = urllib.request.build_opener(_RefuseRedirects)


def _require_max_age(max_age: Any) -> None:
    """Raises unless ``max_age`` is a number of seconds >= 0 (a bool is not one)."""
    if isinstance(max_age, bool) or not isinstance(max_age, (int, float)) or not max_age >= 0:
        raise ValueError("max_age must be a number of seconds >= 0")


def _require_amr(amr: Any) -> None:
    """Raises unless ``amr`` is ``None`` or a list (or tuple) of 1 to ``MAX_AMR`` names of
    ``[A-Za-z0-9_.:-]{1,16}``: the edge would ignore the whole directive (login or
    step-up) as ``directive_rejected``, so it is refused here, by name, before signing."""
    if amr is not None and not (isinstance(amr, (list, tuple)) and 1 <= len(amr) <= MAX_AMR
                                and all(isinstance(name, str) and _AMR_NAME.fullmatch(name) for name in amr)):
        raise ValueError(f"amr must be 1 to {MAX_AMR} names of [A-Za-z0-9_.:-]{{1,16}}")


def _require_session_id(sid: Any) -> None:
    if not (isinstance(sid, str) and _SESSION_ID.fullmatch(sid)):  # fullmatch: `$` would take a final newline
        raise ValueError(f"not a session id: {sid!r}")


def _nonce(nonce: Optional[str]) -> str:
    # The edge ignores a directive that does not echo the X-Edge-Nonce of the request it
    # answers, so a cached or captured response can never log anyone else in.
    if not nonce:
        raise ValueError("no X-Edge-Nonce: a directive can only answer a request that came through the edge")
    return nonce


def _setting(given: Optional[str], name: str) -> Optional[str]:
    """``given``, else the environment variable ``name``; blank is unset (``None``)."""
    text = given if given is not None else os.environ.get(name)
    return text if text is not None and text.strip(_WHITE_SPACE) else None


def _base64url(text: str) -> bytes:
    # Exactly the edge's base64url: the URL alphabet, no padding, no stray bits in the
    # last character. Python's decoder (and so PyJWT's) reads other texts as the same
    # bytes, so a token the edge would refuse could pass here.
    data = _jwks.canonical_base64url(text)
    if data is None:
        raise AssertionRefused("token malformed")
    return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        # UTF-8 only (json.loads would guess UTF-16 from bytes), and no NaN or Infinity.
        value = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # RecursionError: an unsigned header nested deep
        raise AssertionRefused("token malformed") from None
    if not isinstance(value, dict):
        raise AssertionRefused("token malformed")
    return value


def _verify_jws(token: str, keys: list[tuple[str, bytes]], typ: str, audience: str, now: int,
                max_lifetime: int) -> dict[str, Any]:
    """The claims of a compact JWS (HS256) signed by one of ``keys``, as the edge checks
    them (``jws::verify``): its size, canonical base64url, the header (``typ`` the expected
    one, given in lower case), the key its kid names, ``aud``, and the times at ``now``."""
    header, _ = _parse_jws(token)
    _check_header(header, typ, ("HS256",))
    payload = _verify_mac(token, _candidates(keys, header))
    claims = _json_object(payload)
    _check_times(claims, audience, now, max_lifetime)
    return claims


def _parse_jws(token: str) -> tuple[dict[str, Any], bytes]:
    """A compact JWS's header and signature bytes, before anything is verified: its size
    (checked first, it caps the work an unsigned header can cause), three parts of
    canonical base64url, a JSON object for a header."""
    if len(token) > MAX_TOKEN_LEN:
        raise AssertionRefused("token too large")
    parts = token.split(".")
    if len(parts) != 3:
        raise AssertionRefused("token malformed")
    header_bytes, _, signature = [_base64url(part) for part in parts]  # all three, canonical
    return _json_object(header_bytes), signature


def _kid(header: dict[str, Any]) -> Optional[str]:
    """The header's ``kid``, ``None`` when absent; one that is not a string is refused."""
    kid = header.get("kid")
    if "kid" in header and not isinstance(kid, str):
        raise AssertionRefused("token malformed")
    return kid


def _candidates(keys: list[tuple[str, bytes]], header: dict[str, Any]) -> list[tuple[str, bytes]]:
    # A kid is a promise of which key signed: an unknown one is refused, even if another
    # key of ours would verify. Without one, every key is tried (all are trusted alike).
    kid = _kid(header)
    if kid is None:
        return keys
    named = [key for key in keys if key[0] == kid]
    if not named:
        raise AssertionRefused("unknown kid")
    return named


def _check_header(header: dict[str, Any], typ: str, algorithms: tuple[str, ...]) -> None:
    # `alg` exactly one of `algorithms` (the ones we hold keys for) refuses `none` and
    # algorithm confusion (RFC 8725 §3.1). `typ` (in any ASCII case, RFC 7515 §4.1.9)
    # keeps a login directive or an event, signed with the same key, from passing as an
    # assertion, and the reverse (RFC 8725 §3.11). A `crit` names extensions we do not
    # implement, so we must refuse it (RFC 7515 §4.1.11).
    alg = header.get("alg")
    if not (isinstance(alg, str) and alg in algorithms):
        raise AssertionRefused(f"alg is not {' or '.join(algorithms)}")
    given = header.get("typ")
    if not (isinstance(given, str) and given.isascii() and given.lower() == typ):
        raise AssertionRefused("wrong typ")
    if "crit" in header:
        raise AssertionRefused("unsupported crit header")


def _check_es256_signature(signature: bytes) -> None:
    """JWS's ECDSA signature (RFC 7518 §3.4): exactly 64 bytes, ``r || s``, each in
    [1, N - 1]. ASN.1 DER is refused; a high ``s`` is not (JWS does not ask for a low one).
    OpenSSL checks the range too: checked here, so the rule does not rest on it."""
    if len(signature) != 64:
        raise AssertionRefused("bad signature")
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    if not (0 < r < P256_ORDER and 0 < s < P256_ORDER):
        raise AssertionRefused("bad signature")


def _verify_ecdsa(token: str, keys: list[_jwks.PublicKey], kid: Optional[str]) -> Optional[bytes]:
    """The payload's bytes if the one key ``kid`` names (without ``kid``, any key) signed
    ``token`` with ES256, else ``None``."""
    for key in _jwks.named(keys, kid) if kid is not None else keys:
        try:
            payload: bytes = jwt.PyJWS().decode_complete(token, key.key, algorithms=["ES256"])["payload"]
            return payload
        except jwt.PyJWTError:
            continue
    return None


def _verify_mac(token: str, keys: list[tuple[str, bytes]]) -> bytes:
    """The verified payload's bytes, if one of ``keys`` made the MAC."""
    for _, key in keys:
        try:
            payload: bytes = jwt.PyJWS().decode_complete(token, key, algorithms=ALGORITHMS)["payload"]
            return payload
        except jwt.InvalidTokenError:
            continue
    raise AssertionRefused("bad signature")


def _check_times(claims: dict[str, Any], audience: str, now: int, max_lifetime: int) -> None:
    """``aud`` and the times, as the edge checks them; ``now`` in Unix seconds."""
    aud = claims.get("aud")
    if not (aud == audience or (isinstance(aud, list) and audience in aud)):
        raise AssertionRefused("wrong aud")
    exp, iat = _numeric_date(claims.get("exp")), _numeric_date(claims.get("iat"))
    if exp is None or iat is None:
        raise AssertionRefused("exp or iat missing")
    if now >= exp + CLOCK_SKEW:
        raise AssertionRefused("expired")
    if iat > now + CLOCK_SKEW:
        raise AssertionRefused("iat in the future")
    if exp - iat > max_lifetime:
        raise AssertionRefused("lifetime too long")
    if "nbf" in claims:
        nbf = _numeric_date(claims["nbf"])
        if nbf is None or nbf > now + CLOCK_SKEW:
            raise AssertionRefused("not yet valid (nbf)")


def _check_assertion_claims(claims: dict[str, Any]) -> None:
    """An assertion's own claims, as the edge checks them."""
    if claims.get("iss") != ISSUER:
        raise AssertionRefused("iss is not edge-session")
    # Without a user and a session there is nobody to trust.
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise AssertionRefused("sub missing")
    if not isinstance(claims.get("sid"), str):
        raise AssertionRefused("sid missing")
    if not isinstance(claims.get("state"), str):
        raise AssertionRefused("state missing")
    if claims.get("ctx") is not None and not isinstance(claims["ctx"], dict):
        raise AssertionRefused("ctx is not an object")
    for name in ("context_changed", "auth_time"):
        if claims.get(name) is not None and _numeric_date(claims[name]) is None:
            raise AssertionRefused(f"{name} is not a NumericDate")
    amr = claims.get("amr")
    if amr is not None and not (isinstance(amr, list) and all(isinstance(name, str) for name in amr)):
        raise AssertionRefused("amr is not an array of strings")


def _numeric_date(value: Any) -> Optional[int]:
    """A NumericDate (RFC 7519 §2) as the edge reads one: seconds ≥ 0, fractions
    truncated. ``bool`` is an ``int`` in Python, and not a number in JSON."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value) if math.isfinite(value) and value >= 0 else None


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_object(value: Any) -> bool:
    return isinstance(value, dict)


# What an event's optional detail must be when present (None is absent, as the edge reads it).
_EVENT_DETAIL: dict[str, Callable[[Any], bool]] = {
    "revoked": lambda value: isinstance(value, bool), "by": _is_str, "previous": _is_object, "action": _is_str,
    "skipped": _is_str,
}


def _verify_event(body: str | bytes, keys: list[tuple[str, bytes]], audience: str, now: int,
                  queue: bool) -> dict[str, Any]:
    """The rules of the edge's ``SecurityEvent::verify`` (packages/conformance has them
    all): the assertion's JWS checks with ``typ: edge-event+jwt`` and 300 s of life (a
    queue message's, 4 days: ``SecurityEvent::verify_queued``), then the event's claims."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise AssertionRefused("token malformed") from None
    # Only True widens the window: a stray truthy value keeps the webhook's.
    max_lifetime = EVENT_QUEUE_LIFETIME if queue is True else EVENT_WEBHOOK_LIFETIME
    claims = _verify_jws(body.strip(_WHITE_SPACE), keys, EVENT_TYPE, audience, now, max_lifetime)
    if claims.get("iss") != ISSUER:
        raise AssertionRefused("iss is not edge-session")
    sub, sid, t = claims.get("sub"), claims.get("sid"), claims.get("time")
    # surrogatepass: a lone surrogate (JSON can escape one) must be refused, not raise.
    if not (isinstance(sub, str) and sub and len(sub.encode("utf-8", "surrogatepass")) <= MAX_SUB_BYTES
            and not any(unicodedata.category(c) == "Cc" for c in sub)):
        raise AssertionRefused("sub must be 1 to 256 bytes without control characters")
    if not (isinstance(sid, str) and _SESSION_ID.fullmatch(sid)):
        raise AssertionRefused("sid is not a session id")
    if not all(isinstance(claims.get(name), str) and claims[name] for name in ("jti", "type")):
        raise AssertionRefused("jti or type missing")
    if isinstance(t, bool) or not isinstance(t, int) or t < 0:  # bool is an int in Python, not in JSON
        raise AssertionRefused("time is not a Unix time")
    # Only the claims an event has: iss, aud and the times were checked, and a claim this
    # version does not know is dropped (the edge's own parser does the same).
    event = {name: claims[name] for name in ("jti", "type", "sub", "sid", "time")}
    event["device"] = claims.get("device", {})
    if not isinstance(event["device"], dict):
        raise AssertionRefused("device is not an object")
    for name, valid in _EVENT_DETAIL.items():
        if claims.get(name) is None:
            continue
        if not valid(claims[name]):
            raise AssertionRefused(f"{name} has the wrong type")
        event[name] = claims[name]
    return event
