# frozen_string_literal: true

require "edge_session"

module EdgeSession
  # Rack middleware: env["edge_session"] is an EdgeSession::Request on every request, and
  # its directives are put on the response.
  #
  #   use EdgeSession::Rack::Middleware                  # ORIGIN_SECRET and/or EDGE_JWKS_URL, EDGE_URL from ENV
  #   denied = EdgeSession::Rack.require_user(env)       # nil, or a 401 / redirect response
  #   denied = EdgeSession::Rack.require_recent_auth(env, 600) # also nil only if signed in within 10 min
  #   EdgeSession::Rack.edge(env).step_up(amr: ["pwd"])  # password checked again: auth_time moves to now
  module Rack
    ENV_KEY = "edge_session"

    class Middleware
      def initialize(app, client: nil)
        @app = app
        @client = client || EdgeSession::Client.new
      end

      def call(env)
        header = ->(name) { env["HTTP_#{name.upcase.tr("-", "_")}"] }
        request = @client.request(header)
        env[ENV_KEY] = request
        status, headers, body = @app.call(env)
        headers = headers.dup
        request.response_headers.each { |name, value| headers[name] = value }
        [status, headers, body]
      end
    end

    # The request's EdgeSession::Request (needs the middleware).
    def self.edge(env)
      env.fetch(ENV_KEY) { raise "EdgeSession::Rack::Middleware is not installed" }
    end

    # nil for a signed-in request; else the response to send: 401 JSON (mode: :api) or a
    # 303 redirect to login_url (mode: :page).
    def self.require_user(env, mode: :api, login_url: "/login")
      return nil if edge(env).user

      denied(mode, login_url, "not signed in")
    end

    # For a sensitive action: nil when the user signed in at most `max_age` seconds ago
    # (`auth_time`, by the client's clock) and the session has not refreshed from another
    # context since (`context_changed`); else what require_user answers, with "recent
    # sign-in required" (an anonymous request gets require_user's own answer). Send the
    # user to confirm it is them (Request#step_up records it), or to sign in again.
    def self.require_recent_auth(env, max_age, mode: :api, login_url: "/login")
      anonymous = require_user(env, mode: mode, login_url: login_url)
      return anonymous if anonymous
      return nil if edge(env).signed_in_within?(max_age)

      denied(mode, login_url, "recent sign-in required")
    end

    def self.denied(mode, login_url, error)
      if mode == :page
        [303, { "Location" => login_url, "Cache-Control" => "no-store" }, []]
      else
        [401, { "Content-Type" => "application/json", "Cache-Control" => "no-store" }, [JSON.generate(error: error)]]
      end
    end
    private_class_method :denied
  end
end
