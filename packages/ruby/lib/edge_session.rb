# frozen_string_literal: true

# edge-session for Ruby origins (ruby-jwt): who a request is (the edge's verified
# X-Edge-Assertion), logging users in and out (X-Edge-Login / X-Edge-Logout, bound to the
# request's X-Edge-Nonce), and "your devices" (the edge's admin API).
#
# Trust rule: only the verified assertion proves who a request is. X-Edge-User is a
# convenience, safe only if the origin is reachable through the edge alone.
require "json"
require "jwt"
require "net/http"
require "securerandom"
require "uri"

module EdgeSession
  ALGORITHM = "HS256" # never `none` or another algorithm family
  ADMIN_MAX_LIFETIME = 60 # the edge refuses admin tokens whose exp - iat is longer
  CLOCK_SKEW = 30

  # Who a request is, from the verified assertion.
  Identity = Struct.new(:sub, :sid, :state, :ctx, keyword_init: true) do
    def to_h = { sub: sub, sid: sid, state: state, ctx: ctx }
  end

  # The admin API refused a call.
  class AdminError < StandardError
    attr_reader :status, :body

    def initialize(status, body)
      super("edge admin API answered #{status}: #{body}")
      @status = status
      @body = body
    end
  end

  # `kid:secret,kid:secret` → [[kid, key]], signing key first.
  def self.parse_keys(text)
    raise ArgumentError, "ORIGIN_SECRET is not set" if text.nil? || text.empty?

    keys = text.split(",").map(&:strip).reject(&:empty?).map do |pair|
      kid, sep, secret = pair.partition(":")
      raise ArgumentError, "ORIGIN_SECRET must be kid:secret pairs, comma-separated" if sep.empty? || kid.empty?

      [kid, secret]
    end
    raise ArgumentError, "ORIGIN_SECRET holds no kid:secret pair" if keys.empty?

    keys
  end

  # X-Edge-User back to the sub it percent-encodes. A convenience: trust the assertion.
  def self.decode_user(value) = value && URI.decode_www_form_component(value.gsub("+", "%2B"))

  # One origin's view of the edge: its keys, audience and public URL (defaults from
  # ORIGIN_SECRET, ORIGIN_AUDIENCE or "origin", EDGE_URL).
  class Client
    attr_reader :audience, :edge_url

    def initialize(secret: ENV["ORIGIN_SECRET"], audience: ENV.fetch("ORIGIN_AUDIENCE", "origin"),
                   edge_url: ENV["EDGE_URL"], logger: nil)
      @keys = EdgeSession.parse_keys(secret)
      @audience = audience
      @edge_url = edge_url
      @logger = logger
    end

    # The Identity of a request whose headers `header.call(name)` reads, or nil. A bad
    # assertion, or identity headers without one, is anonymous and logged; never raises.
    def identify(header)
      token = header.call("X-Edge-Assertion")
      if token.nil? || token.empty?
        warn_event("edge_assertion_missing") if header.call("X-Edge-User")
        return nil
      end
      claims = verify(token)
      claims && Identity.new(sub: claims["sub"], sid: claims["sid"], state: claims["state"], ctx: claims["ctx"])
    end

    def login_directive(nonce, sub, remember: false, ctx: nil)
      raise ArgumentError, "login needs a non-empty sub" if sub.nil? || sub.empty?

      claims = { "sub" => sub, "remember" => remember, "nonce" => require_nonce(nonce) }
      claims["ctx"] = ctx if ctx
      sign("edge-login+jwt", claims)
    end

    def logout_directive(nonce, scope: "session", sub: nil)
      raise ArgumentError, 'scope is "session" or "everywhere"' unless %w[session everywhere].include?(scope)

      claims = { "scope" => scope, "nonce" => require_nonce(nonce) }
      claims["sub"] = sub if sub
      sign("edge-logout+jwt", claims)
    end

    # A bearer token for POST /__edge/admin: single-use (random jti), at most 60 s.
    def admin_token(sub, act, sid: nil, except: nil, lifetime: ADMIN_MAX_LIFETIME)
      raise ArgumentError, "lifetime must be 1..#{ADMIN_MAX_LIFETIME} s" unless lifetime.between?(1, ADMIN_MAX_LIFETIME)
      raise ArgumentError, "revoke needs sid" if act == "revoke" && sid.nil?

      claims = { "sub" => sub, "act" => act, "jti" => SecureRandom.urlsafe_base64(12) }
      claims["sid"] = sid if sid
      claims["except"] = except if except
      sign("edge-admin+jwt", claims, lifetime)
    end

    def list_sessions(sub) = admin(sub, "list").fetch("sessions")
    def revoke_session(sub, sid) = admin(sub, "revoke", sid: sid)
    def revoke_all(sub, except: nil) = admin(sub, "revoke_all", except: except)

    private

    def verify(token)
      header = JWT.decode(token, nil, false)[1]
      if header["typ"] != "JWT" # a directive is not an assertion
        warn_event("edge_assertion_rejected", reason: "typ #{header["typ"].inspect}")
        return nil
      end
      candidates = @keys.select { |kid, _| kid == header["kid"] }
      candidates = @keys if candidates.empty?
      error = nil
      candidates.each do |_, key|
        return JWT.decode(token, key, true, algorithm: ALGORITHM, aud: @audience, verify_aud: true,
                                            iss: "edge-session", verify_iss: true, verify_iat: true,
                                            required_claims: %w[exp iat sub sid], leeway: CLOCK_SKEW)[0]
      rescue JWT::DecodeError => e
        error = e
      end
      warn_event("edge_assertion_rejected", reason: error.message)
      nil
    rescue JWT::DecodeError => e
      warn_event("edge_assertion_rejected", reason: e.message)
      nil
    end

    def admin(sub, act, **params)
      raise ArgumentError, "EDGE_URL (edge_url:) is not set: the admin API is on the app's public URL" unless @edge_url

      uri = URI.join(@edge_url, "/__edge/admin")
      request = Net::HTTP::Post.new(uri, "Authorization" => "Bearer #{admin_token(sub, act, **params)}")
      response = Net::HTTP.start(uri.host, uri.port, use_ssl: uri.scheme == "https", open_timeout: 10, read_timeout: 10) do |http|
        http.request(request)
      end
      body = JSON.parse(response.body) rescue response.body
      raise AdminError.new(response.code.to_i, body) unless response.is_a?(Net::HTTPSuccess)

      body
    end

    def sign(typ, claims, lifetime = 120)
      kid, key = @keys.first
      now = Time.now.to_i
      JWT.encode({ "aud" => "edge-session", "iat" => now, "exp" => now + lifetime }.merge(claims), key, ALGORITHM,
                 { "typ" => typ, "kid" => kid })
    end

    # The edge ignores a directive that does not echo the X-Edge-Nonce of the request it
    # answers, so a cached or captured response can never log anyone else in.
    def require_nonce(nonce)
      raise ArgumentError, "no X-Edge-Nonce: a directive can only answer a request that came through the edge" if nonce.nil? || nonce.empty?

      nonce
    end

    def warn_event(event, **detail)
      line = JSON.generate({ event: event }.merge(detail))
      @logger ? @logger.warn(line) : warn(line)
    end
  end

  # One request, whatever the framework: `user`, and directives for its response.
  class Request
    attr_reader :user, :nonce, :response_headers

    def initialize(client, user, nonce)
      @client = client
      @user = user
      @nonce = nonce
      @response_headers = {}
    end

    def login(sub, remember: false, ctx: nil)
      @response_headers["X-Edge-Login"] = @client.login_directive(@nonce, sub, remember: remember, ctx: ctx)
    end

    def logout(scope: "session", sub: nil)
      @response_headers["X-Edge-Logout"] = @client.logout_directive(@nonce, scope: scope, sub: sub)
    end

    # The migration bridge: a legacy session for `sub` and no edge identity → log `sub`
    # in at the edge with this response. Returns whether it did.
    def adopt(sub, remember: false)
      return false if @user || sub.nil? || sub.empty?

      login(sub, remember: remember)
      true
    end
  end
end
