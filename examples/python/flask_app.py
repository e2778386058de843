"""A Flask app behind edge-session, mid-migration: it still accepts its own (legacy)
Flask session, and the first request that carries one without an edge identity is
answered with a login directive for that user. From then on it is an edge session."""
import os

from flask import Flask, g, jsonify, redirect, request, session

from edge_session import EdgeSession
from edge_session.flask import EdgeSessionExtension, require_user

app = Flask(__name__)
app.secret_key = os.environ.get("FLASK_SECRET_KEY", "dev-only-not-secret")
edge = EdgeSession()
EdgeSessionExtension(app, edge=edge)


@app.before_request
def migrate_legacy_session():
    # The bridge: one call. A legacy session without an edge identity is logged in at the
    # edge by this response; once it is, `adopt` does nothing. The legacy cookie is kept
    # (this response could be lost) until logout. Remove this, and the legacy login,
    # once your users have moved.
    g.edge.adopt(session.get("user_id"))


@app.get("/")
def home():
    user = g.edge.user
    return jsonify(framework="flask", user=user.as_dict() if user else None, legacy=session.get("user_id"))


@app.post("/legacy-login")
def legacy_login():
    """How this app logged users in before edge-session: its own signed cookie."""
    session["user_id"] = request.form["username"]
    return redirect("/", code=303)


@app.post("/login")
def login():
    g.edge.login(request.form["username"], remember=request.form.get("remember") == "on")
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
@require_user()
def revoke():
    return jsonify(edge.revoke_session(g.edge.user.sub, request.form["sid"]))


@app.post("/api/devices/sign-out-others")
@require_user()
def sign_out_others():
    return jsonify(edge.revoke_all(g.edge.user.sub, except_sid=g.edge.user.sid))


if __name__ == "__main__":
    from werkzeug.serving import make_server

    port = int(os.environ.get("PORT", "8795"))
    server = make_server("127.0.0.1", port, app, threaded=True)  # bound: ready
    print(f"flask app on {port}", flush=True)
    server.serve_forever()
