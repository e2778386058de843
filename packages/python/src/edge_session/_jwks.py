"""The edge's ES256 public keys (``ASSERTION_ALG=ES256``): a JWKS given as it is
(``EDGE_JWKS``) or fetched from the edge's ``GET /__edge/jwks.json`` (``EDGE_JWKS_URL``),
kept and refreshed by the rules of packages/conformance's README ("JWKS").

PyJWT (with its ``crypto`` extra, the ``cryptography`` package) turns a JWK into a public
key and checks signatures; what it leaves lenient (base64url, ``use``, ``alg``, a private
part) is checked here.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import logging
import re
import socket
import ssl
import threading
import unicodedata
import urllib.parse
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Union

try:  # PyJWT's crypto extra: `pip install "edge-session-origin[es256]"`
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
    from jwt.algorithms import ECAlgorithm

    HAVE_CRYPTO = True
except ImportError:
    HAVE_CRYPTO = False

log = logging.getLogger("edge_session")

# The edge serves its JWKS with max-age=300, and a new key is listed at least that long
# before it signs (docs/upgrades.md): a cache of 5 minutes never misses a rotation.
CACHE_SECONDS = 300.0
# However many unknown kids arrive (an attacker can send a random one per request), the
# JWKS is fetched at most once in this window.
COOLDOWN_SECONDS = 30.0
# Keys kept through failed fetches verify this long after the last fetch that succeeded,
# then are dropped: a key the edge stopped publishing (perhaps because it leaked) must not
# verify forged assertions for as long as the URL stays down.
KEPT_SECONDS = 24 * 3600.0
FETCH_TIMEOUT = 5.0  # seconds, for the whole fetch: connection, headers and body
MAX_BODY = 64 * 1024  # the edge's JWKS is well under 2 KiB; more is not the edge

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_URL_RULE = ("EDGE_JWKS_URL (jwks_url) must be https://…, or http:// to a loopback host "
             "(localhost, 127.0.0.0/8, [::1])")


def canonical_base64url(text: str) -> Optional[bytes]:
    """The bytes of ``text`` if it is exactly the edge's base64url (the URL alphabet, no
    padding, no stray bits in the last character), else ``None``. Python's decoder (and so
    PyJWT's) reads other texts as the same bytes: a token the edge refuses could pass."""
    if _BASE64URL.fullmatch(text) and len(text) % 4 != 1:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        if base64.urlsafe_b64encode(data).rstrip(b"=").decode() == text:
            return data
    return None


@dataclass(frozen=True)
class PublicKey:
    """One usable JWKS key: its ``kid`` (``None`` if it has none) and the P-256 point."""

    kid: Optional[str]
    key: Any  # cryptography's EllipticCurvePublicKey


class Unavailable(Exception):
    """A fetch that gave no JWKS; the message is the reason, never the response's body."""


class NotServed(Unavailable):
    """A 404: an answer, not a failure. The edge serves no JWKS under HS256 (an operator
    who moved back from ES256, perhaps after its key leaked): no key of it verifies."""


def check_url(url: str) -> str:
    """``url`` if it may serve the JWKS, else ``ValueError`` naming the rule (never the
    value: with arguments swapped it could be a secret). A JWKS read in clear text is a
    key an attacker on the path chooses, so plain http is for the same machine only."""
    def refused(why: str) -> ValueError:
        return ValueError(f"{_URL_RULE}: {why}")

    # urlsplit would drop tabs and newlines, and read a backslash as part of the host.
    if any(c.isspace() or unicodedata.category(c) == "Cc" or c == "\\" for c in url):
        raise refused("it is not a URL")
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # a port that is not a number raises
    except ValueError:
        raise refused("it is not a URL") from None
    if "@" in parts.netloc:
        raise refused("it has credentials")
    if not parts.hostname:
        raise refused("it has no host")
    if parts.scheme == "https":
        return url
    if parts.scheme != "http":
        raise refused("the scheme is not https or http")
    if not _is_loopback(parts.hostname):
        raise refused("http to a host that is not loopback")
    return url


def _is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1 (``host`` as urlsplit gives it: lower case, no
    brackets). Not a name that merely starts like one (``127.0.0.1.example``)."""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if address.version == 4:
        return address.is_loopback
    return address == ipaddress.IPv6Address("::1")


def parse_static(value: Union[str, Mapping[str, Any]]) -> list[PublicKey]:
    """``EDGE_JWKS`` (the JSON text, or the object already parsed) → its usable keys. Not
    JSON, not ``{"keys": [...]}``, no usable key, or a key with a private part raise
    ``ValueError``: a configuration error, at startup."""
    if isinstance(value, str):
        try:
            value = json.loads(value, parse_constant=_not_json)
        except (ValueError, RecursionError):
            raise ValueError("EDGE_JWKS (jwks) is not JSON") from None
    return usable_keys(value, "EDGE_JWKS (jwks)", refuse_private=True)


def usable_keys(jwks: Any, source: str, *, refuse_private: bool) -> list[PublicKey]:
    """The keys of ``jwks`` that can verify an ES256 assertion; other keys are skipped. A
    key with a private part (``d``) is skipped, or with ``refuse_private`` refused: a
    private key pasted into the configuration is a leak to fix, not a key to use."""
    if not (isinstance(jwks, Mapping) and isinstance(jwks.get("keys"), list)):
        raise ValueError(f'{source} is not a JWKS ({{"keys": [...]}})')
    keys = []
    for i, jwk in enumerate(jwks["keys"], 1):
        if isinstance(jwk, Mapping) and "d" in jwk:
            if refuse_private:
                raise ValueError(f"{source} key #{i} has a private part (d): give the public keys only")
            continue
        key = _public_key(jwk)
        if key is not None:
            keys.append(key)
    if not keys:
        raise ValueError(f"{source} has no usable key (kty EC, crv P-256, use sig, alg ES256)")
    return keys


def _public_key(jwk: Any) -> Optional[PublicKey]:
    """``jwk`` as a verifying key if it is one for ES256, else ``None``: ``kty`` EC, ``crv``
    P-256, ``use`` absent or ``sig``, ``alg`` absent or ``ES256`` (a key meant for another
    algorithm is never tried with this one), ``x`` and ``y`` 32 bytes of canonical
    base64url making a point on the curve (cryptography checks that)."""
    if not isinstance(jwk, Mapping) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        return None
    if jwk.get("use", "sig") != "sig" or jwk.get("alg", "ES256") != "ES256":
        return None
    kid = jwk.get("kid")
    if kid is not None and not isinstance(kid, str):
        return None
    coordinates = [jwk.get(name) for name in ("x", "y")]
    if not all(isinstance(c, str) and len(canonical_base64url(c) or b"") == 32 for c in coordinates):
        return None
    try:
        key = ECAlgorithm.from_jwk({"kty": "EC", "crv": "P-256", "x": coordinates[0], "y": coordinates[1]})
    except Exception:  # PyJWT's InvalidKeyError, cryptography's ValueError (not on the curve)
        return None
    return PublicKey(kid, key) if isinstance(key, EllipticCurvePublicKey) else None


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def fetch(url: str) -> list[PublicKey]:
    """The usable keys at ``url`` (checked by :func:`check_url`), or :class:`Unavailable`."""
    body = _get(url)
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_not_json)
    except (ValueError, RecursionError):
        raise Unavailable("the answer is not JSON") from None
    try:
        return usable_keys(value, "the answer", refuse_private=False)
    except ValueError as refused:
        raise Unavailable(str(refused)) from None


def _get(url: str) -> bytes:
    """The body of a 200 answer to ``GET url``, at most :data:`MAX_BODY` bytes, within
    :data:`FETCH_TIMEOUT` seconds in all. A socket timeout bounds each read, not the
    whole (a server sending a byte every few seconds would hold the request for hours,
    and every request waiting for the keys with it), and none bounds the DNS lookup: so
    the exchange runs in a thread the caller waits for at most that long, and at the
    deadline its socket is shut, which ends it."""
    timeout = FETCH_TIMEOUT
    connection = _connection(url, timeout)
    outcome: list[Union[bytes, BaseException]] = []

    def exchange() -> None:
        try:
            outcome.append(_exchange(connection, url))
        except BaseException as error:  # handed to the caller, whatever it is
            outcome.append(error)
        finally:
            connection.close()

    worker = threading.Thread(target=exchange, name="edge-session-jwks", daemon=True)
    worker.start()
    worker.join(timeout)
    finished = outcome[:1]  # before the abort: what a shut socket makes it read is not an answer
    connection.abort()
    if not finished:
        raise Unavailable(f"no answer within {timeout:g} s")
    result = finished[0]
    if isinstance(result, Unavailable):
        raise result
    if isinstance(result, BaseException):  # OSError, ssl.SSLError, http.client.HTTPException, …
        # The exception's class, not its text: http.client's can quote the response.
        raise Unavailable(f"request failed ({type(result).__name__})")
    return result


def _exchange(connection: _Connection, url: str) -> bytes:
    parts = urllib.parse.urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection.request("GET", target, headers={"Accept": "application/jwk-set+json, application/json"})
    with connection.getresponse() as response:
        if response.status == 404:
            raise NotServed("status 404")
        if response.status != 200:
            raise Unavailable(f"status {response.status}")
        body = response.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise Unavailable(f"the answer is over {MAX_BODY} bytes")
    return body


class _Abort:
    """The socket of one fetch, which another thread can shut (``abort``). A descriptor
    of its own (``dup``): TLS takes over the first one, and it stays valid until closed
    here, so shutting it can never hit another connection that reused the number."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._aborted = False
        self._socket: Optional[socket.socket] = None

    def watch(self, raw: socket.socket) -> socket.socket:
        with self._lock:
            if self._aborted:  # connected after the caller gave up
                raw.close()
                raise OSError("the fetch was given up")
            self._socket = raw.dup()
        return raw

    def abort(self) -> None:
        with self._lock:
            self._aborted = True
            if self._socket is not None:
                try:
                    self._socket.shutdown(socket.SHUT_RDWR)  # a blocked read returns
                except OSError:
                    pass
                self._socket.close()
                self._socket = None


class _HTTPConnection(http.client.HTTPConnection):
    """http.client rather than urllib: urllib follows redirects (an https URL redirected
    to http would undo the https rule) and takes a proxy from the environment. Here a
    redirect is a failure like any other status but 200, and the connection is direct."""

    def __init__(self, host: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.aborting = _Abort()

    def connect(self) -> None:
        self.sock = self.aborting.watch(socket.create_connection((self.host, self.port), self.timeout))

    def abort(self) -> None:
        self.aborting.abort()


class _HTTPSConnection(http.client.HTTPSConnection):
    """The same over TLS, with the system's certificate authorities and host check."""

    def __init__(self, host: str, port: int, timeout: float):
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.aborting = _Abort()

    def connect(self) -> None:
        raw = self.aborting.watch(socket.create_connection((self.host, self.port), self.timeout))
        self.sock = self.tls.wrap_socket(raw, server_hostname=self.host)

    def abort(self) -> None:
        self.aborting.abort()


_Connection = Union[_HTTPConnection, _HTTPSConnection]


def _connection(url: str, timeout: float) -> _Connection:
    parts = urllib.parse.urlsplit(url)
    # The port always given: without one, http.client reads the ":1" of "::1" as a port.
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    if parts.scheme == "https":
        return _HTTPSConnection(host, port, timeout)
    return _HTTPConnection(host, port, timeout)


def _within(now: float, since: Optional[float], seconds: float) -> bool:
    """Whether ``since`` is less than ``seconds`` before ``now``. A ``since`` in the future
    (the clock stepped back) is not within: a cache or cooldown never outlives its length."""
    return since is not None and 0 <= now - since < seconds


class KeySet:
    """The ES256 keys one :class:`~edge_session.EdgeSession` verifies with: fixed
    (``EDGE_JWKS``), or fetched from ``url`` on first use, kept :data:`CACHE_SECONDS`,
    fetched again for a kid it lacks at most once per :data:`COOLDOWN_SECONDS`, and kept
    when a fetch fails, but for at most :data:`KEPT_SECONDS` after the last fetch that
    succeeded; a 404 drops them at once. Thread-safe: one fetch at a time, and requests
    that waited for it use its keys rather than fetch again."""

    def __init__(self, keys: list[PublicKey], url: Optional[str], clock: Callable[[], float]):
        self.url = url
        self._clock = clock
        # (generation, keys, when they were fetched), replaced as a whole so a reader never
        # sees half an update; the generation counts changes of the set (a fetch that
        # succeeded, or keys dropped).
        self._state: tuple[int, list[PublicKey], Optional[float]] = (0, keys, None)
        self._tried_at: Optional[float] = None  # the last attempt, for the cooldown
        self._lock = threading.Lock()

    def snapshot(self) -> tuple[int, list[PublicKey]]:
        """The generation and the keys that verify now. Fetched keys verify only until
        :data:`KEPT_SECONDS` after their fetch, whether or not a fetch was tried since (one
        in the cooldown may not be): a clock stepped back before their fetch hides them
        too, until a fetch succeeds (which the stale cache then asks for at once)."""
        generation, keys, fetched_at = self._state
        if self.url is not None and not _within(self._clock(), fetched_at, KEPT_SECONDS):
            return generation, []
        return generation, keys

    def stale(self) -> bool:
        """Whether a fetched set is due: never fetched yet, or older than the cache."""
        return self.url is not None and not _within(self._clock(), self._state[2], CACHE_SECONDS)

    def may_fetch(self, kid: Optional[str]) -> bool:
        """Whether verifying a token with ``kid`` could fetch (and so block for up to
        :data:`FETCH_TIMEOUT`): for the ASGI middleware, which then leaves the event loop."""
        if self.url is None:
            return False
        return self.stale() or kid is None or not named(self.snapshot()[1], kid)

    def refresh(self, seen: int, wait: bool = True) -> bool:
        """Fetches the JWKS again, unless the set changed since generation ``seen`` (then
        its keys are used: concurrent requests share one fetch) or a fetch was tried in the
        cooldown. Returns whether the keys changed since ``seen``. A failure is logged
        (``edge_jwks_unavailable``) and never raises (see :meth:`_failed`).
        ``wait=False``: if another request is fetching, go on with the keys there are
        (a stale cache that still names the key need not wait up to 5 s for a new one)."""
        if self.url is None or not self._lock.acquire(blocking=wait):
            return False
        try:
            if self._state[0] != seen:
                return True
            now = self._clock()
            if _within(now, self._tried_at, COOLDOWN_SECONDS):
                return False
            self._tried_at = now
            try:
                keys = fetch(self.url)
            except Exception as failure:  # never out of identify(): the request is anonymous
                return self._failed(failure, now)
            self._state = (seen + 1, keys, now)
            return True
        finally:
            self._lock.release()

    def _failed(self, failure: Exception, now: float) -> bool:
        """After a fetch that gave no keys (called holding the lock): logs why, never the
        body, and what became of the keys held. They are kept until :data:`KEPT_SECONDS`
        after the last fetch that succeeded, then dropped; a 404 drops them at once, being
        the edge's answer that it signs with no key of this set. Returns whether the
        keys changed (dropped)."""
        generation, keys, fetched_at = self._state
        reason = failure if isinstance(failure, Unavailable) else type(failure).__name__
        kept = bool(keys) and not isinstance(failure, NotServed) and _within(now, fetched_at, KEPT_SECONDS)
        if kept:
            fate = "the keys fetched before still verify, for 24 h after the last fetch that succeeded"
        elif not keys:
            fate = "no key verifies"
        elif isinstance(failure, NotServed):
            fate = "the edge serves no JWKS: the keys fetched before are dropped"
        else:
            fate = "the keys fetched before are dropped: no fetch succeeded in 24 h"
        log.warning("edge_jwks_unavailable: %s, from %s; %s", reason, self.url, fate)
        if keys and not kept:
            self._state = (generation + 1, [], fetched_at)
            return True
        return False


def named(keys: list[PublicKey], kid: str) -> list[PublicKey]:
    """The one key ``kid`` names, as a list, or none: a kid is a promise of which key
    signed, so only that key is tried. A kid naming two usable keys names none: the set is
    ambiguous (the edge never publishes that), so the kid is refused as an unknown one is,
    even if one of the two would verify, and may fetch the set again as an unknown one does."""
    keys = [key for key in keys if key.kid == kid]
    return keys if len(keys) == 1 else []
