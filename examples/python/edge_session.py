"""edge-session origin kit for Python (PyJWT).

Verify the `X-Edge-Assertion` the edge adds to every identified request, and sign the
`X-Edge-Login` / `X-Edge-Logout` directives the edge applies (docs/design.md §4), and call the
edge's admin API (list a user's sessions, revoke them). Secrets use
the edge's format: `kid:secret[,kid:secret…]`; the first signs, all verify; the HMAC key
is the UTF-8 text of `secret`.
"""
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request

import jwt  # PyJWT

ALGORITHMS = ["HS256"]  # never accept `none` or another algorithm family
ADMIN_MAX_LIFETIME = 60  # the edge refuses admin tokens whose exp - iat is longer


def parse_keys(text):
    """`kid:secret,kid:secret` → [(kid, key_bytes)], signing key first."""
    keys = []
    for pair in filter(None, (p.strip() for p in text.split(","))):
        kid, _, secret = pair.partition(":")
        keys.append((kid, secret.encode()))
    if not keys:
        raise ValueError("ORIGIN_SECRET holds no kid:secret pair")
    return keys


def verify_assertion(token, keys, audience="origin"):
    """The identity claims of a valid assertion, or None. Checks signature, alg, typ,
    issuer, audience and expiry; picks the key by `kid`, else tries each."""
    if not token:
        return None
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        return None
    if header.get("typ") != "JWT":  # a directive is not an assertion
        return None
    candidates = [k for k in keys if k[0] == header.get("kid")] or keys
    for _, key in candidates:
        try:
            return jwt.decode(token, key, algorithms=ALGORITHMS, audience=audience,
                              issuer="edge-session", options={"require": ["exp", "iat", "sub", "sid"]})
        except jwt.InvalidTokenError:
            continue
    return None


def _directive(typ, claims, keys, lifetime=120):
    kid, key = keys[0]
    now = int(time.time())
    payload = {"aud": "edge-session", "iat": now, "exp": now + lifetime, **claims}
    return jwt.encode(payload, key, algorithm="HS256", headers={"typ": typ, "kid": kid})


def _nonce(nonce):
    # The edge ignores a directive that does not echo the X-Edge-Nonce of the request it
    # answers, so a cached or captured response can never log anyone else in.
    if not nonce:
        raise ValueError("no X-Edge-Nonce: a directive can only answer a request that came through the edge")
    return nonce


def login_directive(sub, keys, *, nonce, remember=False, ctx=None):
    """Value for the `X-Edge-Login` response header: the edge starts a session for `sub`.
    `nonce` is the `X-Edge-Nonce` header of the request this response answers."""
    claims = {"sub": sub, "remember": remember, "nonce": _nonce(nonce)}
    if ctx is not None:
        claims["ctx"] = ctx
    return _directive("edge-login+jwt", claims, keys)


def logout_directive(keys, *, nonce, scope="session", sub=None):
    """Value for the `X-Edge-Logout` response header (`scope`: session or everywhere).
    `nonce` is the `X-Edge-Nonce` header of the request this response answers."""
    claims = {"scope": scope, "nonce": _nonce(nonce)}
    if sub is not None:
        claims["sub"] = sub
    return _directive("edge-logout+jwt", claims, keys)


def decode_user(header_value):
    """`X-Edge-User` as the `sub` it encodes (every byte outside `A-Za-z0-9._~@+-` is
    percent-encoded). A convenience: trust the verified assertion's `sub`, unless the
    origin is reachable only through the edge."""
    return urllib.parse.unquote(header_value, errors="strict") if header_value is not None else None


def admin_token(sub, act, keys, sid=None, except_=None, lifetime=ADMIN_MAX_LIFETIME):
    """Bearer token for `POST /__edge/admin`. `act`: "list", "revoke" (needs `sid`) or
    "revoke_all" (`except_`: a sid to keep). Every parameter is a signed claim; a random
    `jti` makes each token single-use for revocations (the edge refuses a replay)."""
    if not 0 < lifetime <= ADMIN_MAX_LIFETIME:
        raise ValueError(f"lifetime must be 1..{ADMIN_MAX_LIFETIME} s: the edge refuses longer")
    if act == "revoke" and sid is None:
        raise ValueError("revoke needs sid")
    claims = {"sub": sub, "act": act, "jti": secrets.token_urlsafe(12)}
    if sid is not None:
        claims["sid"] = sid
    if except_ is not None:
        claims["except"] = except_
    return _directive("edge-admin+jwt", claims, keys, lifetime)


def admin_call(edge_url, sub, act, keys, sid=None, except_=None, timeout=10):
    """Calls the admin API at `edge_url` (the app's public URL); returns (status, JSON
    body), e.g. (200, {"revoked": 1}) or (404, {"error": …}). Network errors and a
    non-JSON answer raise."""
    token = admin_token(sub, act, keys, sid=sid, except_=except_)
    request = urllib.request.Request(edge_url.rstrip("/") + "/__edge/admin", data=b"", method="POST",
                                     headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:  # 4xx/5xx still carry a JSON answer
        with error:
            return error.code, json.load(error)
