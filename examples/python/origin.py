"""A minimal origin behind edge-session, using only the standard library and the kit.

GET /login?<name>  → logs <name> in (X-Edge-Login)
GET /logout        → logs out (X-Edge-Logout)
GET anything else  → JSON: who the verified assertion says this is (never the plain
                     X-Edge-User header: the origin may be reachable around the edge)
"""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from edge_session import login_directive, logout_directive, parse_keys, verify_assertion

KEYS = parse_keys(os.environ["ORIGIN_SECRET"])


class Origin(BaseHTTPRequestHandler):
    def do_GET(self):
        claims = verify_assertion(self.headers.get("X-Edge-Assertion"), KEYS)
        body = {"kit": "python", "user": claims and claims["sub"], "state": claims and claims["state"]}
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        if self.path.startswith("/login?"):
            self.send_header("X-Edge-Login", login_directive(self.path[len("/login?"):], KEYS))
        elif self.path == "/logout":
            self.send_header("X-Edge-Logout", logout_directive(KEYS))
        self.end_headers()
        self.wfile.write(json.dumps(body).encode())

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8790"))), Origin)
    print(f"python origin on {server.server_port}", flush=True)
    server.serve_forever()
