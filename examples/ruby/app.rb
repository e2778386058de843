# A Rack app behind edge-session, as a Rack user would write one: the middleware in the
# builder, EdgeSession::Rack.edge(env) in the app, require_user where a route needs
# someone. Run: ruby -I ../../packages/ruby/lib app.rb (or, with Bundler,
# `gem "edge_session_origin", path: "path/to/edge-session/packages/ruby"` and `rackup`).
# Served by Puma. (Not WEBrick: it rewrites a relative Location into an absolute URL on
# the origin's own host, which would send the browser around the edge.)
#
# Mid-migration: it still accepts its own (legacy) Rack session, and the first request
# that carries one without an edge identity is answered with a login directive for that
# user. From then on it is an edge session. Rack::Session::Cookie is a signed cookie:
# ending the session clears the browser's copy, but a copy taken earlier stays valid
# until it expires, since nothing server-side can revoke it. End the bridge (or rotate
# SESSION_SECRET) once your users have moved.
require "json"
require "rack"
require "rack/session/cookie"
require "edge_session/rack"

EDGE = EdgeSession::Client.new # ORIGIN_SECRET, EDGE_URL, EVENTS_SECRET from ENV
# Signing other devices out asks for a sign-in this recent (seconds; 10 minutes).
RECENT_AUTH_SECS = Integer(ENV.fetch("RECENT_AUTH_SECS", "600"))

def json(status, value) = [status, { "Content-Type" => "application/json" }, [JSON.generate(value)]]
def see_other(location) = [303, { "Location" => location }, []]

# The bridge, on every request but logout (whose directive ends the session: a login
# beside it would undo that); returns the legacy user the request carried. A legacy
# session without an edge identity is logged in at the edge by this response, and ended
# in this same response: the login directive and the cleared session travel together, so
# a lost response loses neither. It is ended too once the edge identifies the browser, or
# when the edge refused the edge cookie beside it (that jar was logged out, revoked or
# copied). It is kept only when the request did not come through the edge. Remove this,
# and /legacy-login, once your users have moved.
def bridge_legacy_session(request, edge)
  legacy_user = request.session["user_id"]
  return legacy_user if legacy_user.nil? || request.path_info == "/logout"

  adopted = edge.adopt(legacy_user)
  request.session.clear if adopted || edge.user || edge.refusal
  legacy_user
end

# Security events: the edge POSTs each one to /events (its EVENTS_URL), signed with
# EVENTS_SECRET, at least once. Both stores are in memory for the example only: in
# production they live in the database the app's instances share (a unique jti column).
EVENTS = Mutex.new # Puma runs requests on several threads
SEEN_EVENTS = {} # jti => when it came: a redelivery has the same jti, for up to a day
NOTICES = {} # sub => [{jti:, type:, text:, sid:, time:}], newest first
# A test knob for "a receiver that is down for a while": the first n deliveries get a 503
# unread, and the edge retries them (2 s, 5 s, 10 s, ...).
fail_first = Integer(ENV.fetch("EVENTS_FAIL_FIRST", "0"))

# The notice an event becomes, or nil (session.revoked: the user or the app asked for it).
def notice_text(event)
  device = event["device"]
  where = "#{device["browser"] || "unknown"} on #{device["os"] || "unknown"}, #{device["country"] || "unknown"}"
  case event["type"]
  when "session.created" then "New sign-in: #{where}"
  when "session.reuse_detected", "session.copied_jar", "session.context_changed" then "Was this you? #{event["type"]} from #{where}"
  end # and nil for a type this app does not know (a later edge may add some)
end

RECEIVE_EVENT = lambda do |request|
  return [503, {}, []] if EVENTS.synchronize { (fail_first -= 1) >= 0 }

  event = EDGE.parse_event(request.body.read)
  now = Time.now.to_i
  EVENTS.synchronize do
    SEEN_EVENTS.delete_if { |_, at| at < now - 86_400 }
    next if SEEN_EVENTS.key?(event["jti"]) # a duplicate: dropped

    SEEN_EVENTS[event["jti"]] = now
    text = notice_text(event) or next
    notice = { jti: event["jti"], type: event["type"], text: text, sid: event["sid"], time: event["time"] }
    # Newest first by the event's time (a retried one can arrive late); 50 per user.
    mine = [notice, *NOTICES.fetch(event["sub"], [])]
    NOTICES[event["sub"]] = mine.sort_by.with_index { |n, i| [-n[:time], i] }.first(50)
  end
  [204, {}, []] # a 2xx, or the edge retries
rescue EdgeSession::AssertionRefused
  [401, {}, []]
end

APP = lambda do |env|
  request = Rack::Request.new(env)
  edge = EdgeSession::Rack.edge(env)
  user = edge.user
  legacy_user = bridge_legacy_session(request, edge)
  case [request.request_method, request.path_info]
  in ["GET", "/"]
    json(200, { framework: "rack", user: user&.to_h, legacy: legacy_user })
  in ["POST", "/legacy-login"]
    # How this app logged users in before edge-session: its own session, no edge.
    request.session.options[:renew] = true # a fresh id at login: no session fixation
    request.session["user_id"] = request.POST["username"]
    see_other("/")
  in ["POST", "/login"]
    # … after checking the password:
    edge.login(request.POST["username"], remember: request.POST["remember"] == "on", amr: ["pwd"])
    see_other("/")
  in ["POST", "/logout"]
    edge.logout
    request.session.clear if legacy_user # else the bridge would log the legacy user straight back in
    see_other("/")
  in ["GET", "/api/me"]
    EdgeSession::Rack.require_user(env) || json(200, { framework: "rack" }.merge(user.to_h))
  in ["GET", "/account"]
    EdgeSession::Rack.require_user(env, mode: :page, login_url: "/login") ||
      [200, { "Content-Type" => "text/plain" }, ["Account of #{user.sub}"]]
  in ["GET", "/api/devices"]
    EdgeSession::Rack.require_user(env) || json(200, { current: user.sid, sessions: EDGE.list_sessions(user.sub) })
  in ["POST", "/api/devices/revoke"]
    EdgeSession::Rack.require_recent_auth(env, RECENT_AUTH_SECS) ||
      json(200, EDGE.revoke_session(user.sub, request.POST["sid"]))
  in ["POST", "/api/devices/sign-out-others"]
    EdgeSession::Rack.require_recent_auth(env, RECENT_AUTH_SECS) || json(200, EDGE.revoke_all(user.sub, except: user.sid))
  in ["POST", "/confirm"]
    # "Confirm it's you": where a sensitive action sends a user whose sign-in is not
    # recent. After checking the password again, the step-up moves this session's
    # auth_time to now.
    # This example has no passwords: check one here, or anyone holding the session (a
    # copied cookie jar too) makes itself recent.
    EdgeSession::Rack.require_user(env) || begin
      edge.step_up(amr: ["pwd"])
      see_other("/")
    end
  in ["POST", "/events"]
    RECEIVE_EVENT.call(request)
  in ["GET", "/api/notices"]
    EdgeSession::Rack.require_user(env) || json(200, EVENTS.synchronize { NOTICES.fetch(user.sub, []) })
  else
    json(404, { error: "not found" })
  end
end

app = Rack::Builder.new do
  use Rack::Session::Cookie, key: "rack.session", secret: ENV.fetch("SESSION_SECRET", "dev-only-not-secret-" * 4),
                             same_site: :lax, coder: Rack::Session::Cookie::Base64::JSON.new
  use EdgeSession::Rack::Middleware, client: EDGE
  run APP
end

if $PROGRAM_NAME == __FILE__
  require "rack/handler/puma"
  port = Integer(ENV.fetch("PORT", "8798"))
  Rack::Handler::Puma.run(app, Host: "127.0.0.1", Port: port, Silent: true, Threads: "0:4") do |launcher|
    # Once Puma listens, not before: "app on" means connections are accepted.
    launcher.events.on_booted do
      puts "rack app on #{port}"
      $stdout.flush
    end
  end
end
