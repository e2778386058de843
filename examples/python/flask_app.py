"""A Flask app behind edge-session, mid-migration: it still accepts its own (legacy)
Flask session, and the first request that carries one without an edge identity is
answered with a login directive for that user. From then on it is an edge session.

Flask's session is a signed cookie: ending it clears the browser's copy, but a copy taken
earlier stays valid until it expires, since nothing server-side can revoke it. End the
bridge (or rotate FLASK_SECRET_KEY) once your users have moved."""
import os

from flask import Flask, g, jsonify, redirect, request, session

from edge_session import EdgeSession
from edge_session.flask import EdgeSessionExtension, require_recent_auth, require_user

# Signing other devices out asks for a sign-in this recent (seconds; 10 minutes).
RECENT_AUTH_SECS = int(os.environ.get("RECENT_AUTH_SECS", "600"))
app = Flask(__name__)
app.secret_key = os.environ.get("FLASK_SECRET_KEY", "dev-only-not-secret")
edge = EdgeSession()  # ORIGIN_SECRET (or EDGE_JWKS_URL, with DIRECTIVE_SECRET and ADMIN_SECRET), EDGE_URL
EdgeSessionExtension(app, edge=edge)


@app.before_request
def migrate_legacy_session():
    # The bridge, on every request (on logout too: `logout()` takes back a login the
    # bridge put on the same response). A legacy session without an edge identity is
    # logged in at the edge by this response, and cleared in this same response: the
    # login directive and the cleared cookie travel together, so a lost response loses
    # neither. It is cleared too once the edge identifies the browser, or when the edge
    # refused the edge cookie beside it (that jar was logged out, revoked or copied). It
    # is kept only when the request did not come through the edge. Remove this, and the
    # legacy login, once your users have moved.
    g.legacy_user = session.get("user_id")
    if g.legacy_user is None:
        return
    adopted = g.edge.adopt(g.legacy_user)
    if adopted or g.edge.user is not None or g.edge.refusal is not None:
        session.clear()


@app.get("/")
def home():
    user = g.edge.user
    return jsonify(framework="flask", user=user.as_dict() if user else None, legacy=g.legacy_user)


@app.post("/legacy-login")
def legacy_login():
    """How this app logged users in before edge-session: its own signed cookie. It stands
    for sessions made before the migration; once the bridge is in, the login form is
    `login()` below (a legacy login made after an edge session ended would be refused by
    the bridge, since the browser still carries that session's refused cookie)."""
    session["user_id"] = request.form["username"]
    return redirect("/", code=303)


@app.post("/login")
def login():
    # … after checking the password:
    g.edge.login(request.form["username"], remember=request.form.get("remember") == "on", amr=["pwd"])
    return redirect("/", code=303)


@app.post("/logout")
def logout():
    g.edge.logout()
    session.clear()  # else the bridge would log the legacy user straight back in
    return redirect("/", code=303)


@app.get("/api/me")
@require_user()
def me():
    return jsonify(framework="flask", **g.edge.user.as_dict())


@app.get("/account")
@require_user(mode="page", login_url="/login")
def account():
    return f"Account of {g.edge.user.sub}", 200, {"Content-Type": "text/plain"}


@app.get("/api/devices")
@require_user()
def devices():
    return jsonify(current=g.edge.user.sid, sessions=edge.list_sessions(g.edge.user.sub))


@app.post("/api/devices/revoke")
@require_recent_auth(RECENT_AUTH_SECS)
def revoke():
    return jsonify(edge.revoke_session(g.edge.user.sub, request.form["sid"]))


@app.post("/api/devices/sign-out-others")
@require_recent_auth(RECENT_AUTH_SECS)
def sign_out_others():
    return jsonify(edge.revoke_all(g.edge.user.sub, except_sid=g.edge.user.sid))


# "Confirm it's you": where a sensitive action sends a user whose sign-in is not recent.
# After checking the password again, the step-up moves this session's auth_time to now.
# This example has no passwords: check one here, or anyone holding the session (a
# copied cookie jar too) makes itself recent.
@app.post("/confirm")
@require_user()
def confirm():
    g.edge.step_up(amr=["pwd"])
    return redirect("/", code=303)


if __name__ == "__main__":
    from werkzeug.serving import make_server

    port = int(os.environ.get("PORT", "8795"))
    server = make_server("127.0.0.1", port, app, threaded=True)  # bound: ready
    print(f"flask app on {port}", flush=True)
    server.serve_forever()
