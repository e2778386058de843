"""A minimal origin behind edge-session, using only the standard library and the kit.

GET /login?<name>            → logs <name> in (X-Edge-Login)
GET /logout                  → logs out (X-Edge-Logout)
GET /devices                 → this user's sessions, via the edge's admin API
POST /devices/sign-out-others → revokes every session of this user but this one. POST,
                               because the edge's cookies are SameSite=Lax: a cross-site
                               POST carries none, so another site cannot trigger it
GET anything else            → JSON: who the verified assertion says this is (never the
                               plain X-Edge-User header: the origin may be reachable
                               around the edge)

EDGE_URL is where the admin API is reached: in production, the app's own public URL
(the worker sits on the route in front of it).
"""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from edge_session import admin_call, decode_user, login_directive, logout_directive, parse_keys, verify_assertion

KEYS = parse_keys(os.environ["ORIGIN_SECRET"])
EDGE_URL = os.environ.get("EDGE_URL")


def devices(path, claims):
    """(status, body) of the /devices routes, for the user the assertion names."""
    if not claims:
        return 401, {"kit": "python", "error": "not signed in"}
    if not EDGE_URL:
        return 500, {"kit": "python", "error": "EDGE_URL is not set"}
    sub, sid = claims["sub"], claims["sid"]  # sid: this request's session, as the edge lists it
    if path == "/devices":
        status, answer = admin_call(EDGE_URL, sub, "list", KEYS)
        body = {"kit": "python", "current": sid, "devices": [s["sid"] for s in answer.get("sessions", [])]}
    else:
        status, answer = admin_call(EDGE_URL, sub, "revoke_all", KEYS, except_=sid)
        body = {"kit": "python", "revoked": answer.get("revoked")}
    return (200, body) if status == 200 else (502, {"kit": "python", "error": answer.get("error")})


class Origin(BaseHTTPRequestHandler):
    def do_POST(self):
        self.do_GET()

    def do_GET(self):
        claims = verify_assertion(self.headers.get("X-Edge-Assertion"), KEYS)
        status, body = 200, {"kit": "python", "user": claims and claims["sub"], "state": claims and claims["state"]}
        if claims and self.path == "/whoami":  # the plain header decodes to the same sub
            body["header_user"] = decode_user(self.headers.get("X-Edge-User"))
        changes_state = self.path == "/devices/sign-out-others"
        if changes_state != (self.command == "POST"):
            status, body = 405, {"kit": "python", "error": "use POST" if changes_state else "use GET"}
        elif self.path in ("/devices", "/devices/sign-out-others"):
            try:
                status, body = devices(self.path, claims)
            except (OSError, ValueError) as error:  # edge unreachable, or not JSON
                status, body = 502, {"kit": "python", "error": str(error)}
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        nonce = self.headers.get("X-Edge-Nonce")  # directives answer this request only
        if self.path.startswith("/login?"):
            sub = decode_user(self.path[len("/login?"):])
            self.send_header("X-Edge-Login", login_directive(sub, KEYS, nonce=nonce))
        elif self.path == "/logout":
            self.send_header("X-Edge-Logout", logout_directive(KEYS, nonce=nonce))
        self.end_headers()
        self.wfile.write(json.dumps(body).encode())

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8790"))), Origin)
    print(f"python origin on {server.server_port}", flush=True)
    server.serve_forever()
