# frozen_string_literal: true

require "edge_session"

module EdgeSession
  # Rack middleware: env["edge_session"] is an EdgeSession::Request on every request, and
  # its directives are put on the response.
  #
  #   use EdgeSession::Rack::Middleware                  # ORIGIN_SECRET, EDGE_URL from ENV
  #   denied = EdgeSession::Rack.require_user(env)       # nil, or a 401 / redirect response
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

      if mode == :page
        [303, { "Location" => login_url, "Cache-Control" => "no-store" }, []]
      else
        [401, { "Content-Type" => "application/json", "Cache-Control" => "no-store" }, ['{"error":"not signed in"}']]
      end
    end
  end
end
