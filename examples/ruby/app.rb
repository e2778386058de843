# A Rack app behind edge-session, as a Rack user would write one: the middleware in the
# builder, EdgeSession::Rack.edge(env) in the app, require_user where a route needs
# someone. Run: ruby -I ../../packages/ruby/lib app.rb (or, with Bundler,
# `gem "edge_session_origin", path: "path/to/edge-session/packages/ruby"` and `rackup`).
# Served by Puma. (Not WEBrick: it rewrites a relative Location into an absolute URL on
# the origin's own host, which would send the browser around the edge.)
require "json"
require "rack"
require "edge_session/rack"

EDGE = EdgeSession::Client.new # ORIGIN_SECRET, EDGE_URL from ENV

def json(status, value) = [status, { "Content-Type" => "application/json" }, [JSON.generate(value)]]
def see_other(location) = [303, { "Location" => location }, []]

APP = lambda do |env|
  request = Rack::Request.new(env)
  edge = EdgeSession::Rack.edge(env)
  user = edge.user
  case [request.request_method, request.path_info]
  in ["GET", "/"]
    json(200, { framework: "rack", user: user&.to_h })
  in ["POST", "/login"]
    edge.login(request.POST["username"], remember: request.POST["remember"] == "on")
    see_other("/")
  in ["POST", "/logout"]
    edge.logout
    see_other("/")
  in ["GET", "/api/me"]
    EdgeSession::Rack.require_user(env) || json(200, { framework: "rack" }.merge(user.to_h))
  in ["GET", "/account"]
    EdgeSession::Rack.require_user(env, mode: :page, login_url: "/login") ||
      [200, { "Content-Type" => "text/plain" }, ["Account of #{user.sub}"]]
  in ["GET", "/api/devices"]
    EdgeSession::Rack.require_user(env) || json(200, { current: user.sid, sessions: EDGE.list_sessions(user.sub) })
  in ["POST", "/api/devices/revoke"]
    EdgeSession::Rack.require_user(env) || json(200, EDGE.revoke_session(user.sub, request.POST["sid"]))
  in ["POST", "/api/devices/sign-out-others"]
    EdgeSession::Rack.require_user(env) || json(200, EDGE.revoke_all(user.sub, except: user.sid))
  else
    json(404, { error: "not found" })
  end
end

app = Rack::Builder.new do
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
