# frozen_string_literal: true

# edge-session for Ruby origins (ruby-jwt): who a request is (the edge's verified
# X-Edge-Assertion), logging users in and out (X-Edge-Login / X-Edge-Logout, bound to the
# request's X-Edge-Nonce), a step-up (X-Edge-Step-Up: the user just proved who they are
# again), "your devices" (the edge's admin API), and the security events
# the edge POSTs to the operator's webhook (EdgeSession.parse_event). Assertions are HS256
# (ORIGIN_SECRET) or ES256 (the edge's public JWKS: EDGE_JWKS_URL or EDGE_JWKS, so that a
# service that only verifies identities holds no secret).
#
# Trust rule: only the verified assertion proves who a request is. X-Edge-User is a
# convenience, safe only if the origin is reachable through the edge alone.
require "json"
require "jwt"
require "net/http"
require "securerandom"
require "uri"
require "edge_session/jwks"

module EdgeSession
  ISSUER = "edge-session"
  ALGORITHM = "HS256" # what this package signs (directives, admin tokens) and events carry
  ADMIN_MAX_LIFETIME = 60 # the edge refuses admin tokens whose exp - iat is longer
  ASSERTION_MAX_LIFETIME = 60 # the edge issues assertions for 60 s; longer was not made by it
  # The edge signs an event again at each webhook delivery attempt, valid 300 s: a captured
  # delivery replayed later is refused. (A redelivery, same jti, can come for up to a day.)
  EVENT_WEBHOOK_LIFETIME = 300
  # A queue message is signed for 4 days (a Cloudflare Queue's default retention), so a
  # consumer that fell behind still verifies it; only `queue: true` accepts that much, so a
  # queue message replayed to a webhook is refused.
  EVENT_QUEUE_LIFETIME = 4 * 24 * 3600
  EVENT_TYPE = "edge-event+jwt"
  MAX_SUB_BYTES = 256 # the edge's rule for a sub it carries (it goes into a header): 1 to 256 UTF-8 bytes
  CLOCK_SKEW = 30 # seconds of disagreement allowed between the edge's clock and ours
  # The edge's bound: far above any assertion, and it caps the work an unauthenticated
  # header can cause before its MAC is checked.
  MAX_TOKEN_LEN = 8192

  # ORIGIN_SECRET's rules, the edge's (KeyRing::parse): a bad ring fails at startup, not
  # as a signature that never verifies.
  MAX_KEYS = 8
  SECRET_CHARS = (32..512).freeze
  KID = /\A[A-Za-z0-9_-]{1,16}\z/ # \A \z: `^ $` would match around a newline
  # Unicode's White_Space property, exactly (what the edge trims): String#strip would
  # keep U+3000 and strip a trailing NUL, and the edge would disagree on both.
  WHITE_SPACE = "\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
  AROUND_WHITE_SPACE = /\A[#{WHITE_SPACE}]+|[#{WHITE_SPACE}]+\z/
  WHITE_SPACE_OR_CONTROL = /[#{WHITE_SPACE}]|\p{Cc}/
  BASE64URL = /\A[A-Za-z0-9_-]*\z/
  # A session id (the edge's family id, `sid`): 16 bytes as canonical base64url, 22
  # characters whose last holds 2 bits and 4 zero bits (the Rust crate's FamilyId::parse).
  SESSION_ID = /\A[A-Za-z0-9_-]{21}[AQgw]\z/
  # A login's `amr` as the edge takes it (RFC 8176 method names): 1 to 8 of these.
  MAX_AMR = 8
  AMR_NAME = /\A[A-Za-z0-9_.:-]{1,16}\z/
  # The response header of a step-up (Client#step_up_directive, Request#step_up).
  STEP_UP_HEADER = "X-Edge-Step-Up"

  # Who a request is, from the verified assertion. `context_changed`: when the session
  # refreshed from another country, network (ASN) or browser family, in Unix seconds; nil
  # if it did not, or unless the edge runs ON_CONTEXT_CHANGE=flag. A signal, not a verdict
  # (a phone changes networks): before a sensitive action, ask for the password again
  # unless this session (`sid`) re-entered it for this very value. `auth_time`: when the
  # user logged in (Unix seconds; nil only from an edge older than the claim); `amr`: how
  # (RFC 8176 names, as the login directive said), else nil. Request#signed_in_within? and
  # Rack.require_recent_auth use both for sensitive actions.
  Identity = Struct.new(:sub, :sid, :state, :ctx, :context_changed, :auth_time, :amr, keyword_init: true) do
    def to_h = { sub: sub, sid: sid, state: state, ctx: ctx, context_changed: context_changed, auth_time: auth_time,
                 amr: amr }
  end

  # Why Client#verify_assertion (or EdgeSession.parse_event) refused a token; the message
  # is the reason.
  class AssertionRefused < StandardError; end

  # The admin API refused a call.
  class AdminError < StandardError
    attr_reader :status, :body

    def initialize(status, body)
      super("edge admin API answered #{status}: #{body}")
      @status = status
      @body = body
    end
  end

  # `kid:secret,kid:secret` → [[kid, secret]], signing key first; the HMAC key is the
  # secret's UTF-8 bytes. A refusal (ArgumentError) names the problem and the key's
  # position, never a secret, nor a kid (in a malformed ring it may be a piece of a secret).
  # `name` is the variable a refusal names.
  def self.parse_keys(text, name = "ORIGIN_SECRET")
    raise ArgumentError, "#{name} is not set" if text.nil?

    text = text.dup.force_encoding(Encoding::UTF_8)
    raise ArgumentError, "#{name} is not UTF-8" unless text.valid_encoding?

    pairs = text.split(",").map { |pair| pair.gsub(AROUND_WHITE_SPACE, "") }.reject(&:empty?)
    raise ArgumentError, "#{name} holds no kid:secret pair" if pairs.empty?
    raise ArgumentError, "#{name} holds more than #{MAX_KEYS} keys" if pairs.length > MAX_KEYS

    keys = pairs.each_with_index.map { |pair, i| parse_key(pair, "#{name} key ##{i + 1}") }
    keys.each_with_index do |(kid, _), i|
      raise ArgumentError, "#{name} key ##{i + 1} reuses an earlier key id" if keys[0...i].any? { |k, _| k == kid }
    end
    keys
  end

  def self.parse_key(pair, which)
    kid, sep, secret = pair.partition(":")
    raise ArgumentError, "#{which} has no ':' between key id and secret" if sep.empty?
    raise ArgumentError, "#{which} has a key id outside [A-Za-z0-9_-]{1,16}" unless KID.match?(kid)
    # String#length counts characters (Unicode scalar values), as the edge does.
    unless SECRET_CHARS.cover?(secret.length)
      raise ArgumentError, "#{which}: the secret must be #{SECRET_CHARS.min} to #{SECRET_CHARS.max} characters"
    end
    raise ArgumentError, "#{which}: the secret contains whitespace or control characters" if WHITE_SPACE_OR_CONTROL.match?(secret)

    [kid, secret]
  end
  private_class_method :parse_key

  # X-Edge-User back to the sub it percent-encodes. A convenience: trust the assertion.
  def self.decode_user(value) = value && URI.decode_www_form_component(value.gsub("+", "%2B"))

  # A security event the edge POSTed to the operator's webhook (EVENTS_URL), verified: a
  # hash with string keys "jti", "type", "sub", "sid", "time", "device", and "revoked",
  # "by", "previous", "action", "skipped" when its type has them. `body` is the request's
  # raw body. Raises AssertionRefused with the reason for anything the edge did not sign
  # with `secret` for `audience` in the last 5 minutes, and ArgumentError for a missing or
  # malformed `secret`: EVENTS_SECRET, never ORIGIN_SECRET (a receiver holding it can
  # verify events and mint nothing). `now`: Unix seconds. `queue: true` verifies the body
  # of a message taken from the EVENTS Cloudflare Queue instead, which the edge signs for
  # 4 days; without it such a message is refused (one replayed to a webhook).
  def self.parse_event(body, secret: ENV["EVENTS_SECRET"], audience: ENV.fetch("ORIGIN_AUDIENCE", "origin"),
                       now: Time.now.to_i, queue: false)
    JWS.event(body, parse_keys(secret, "EVENTS_SECRET"), audience, now.to_i, queue: queue)
  end

  # The checks every token from the edge gets (the edge's jws::verify), and an event's.
  module JWS
    module_function

    # The claims of a compact JWS: its size, canonical base64url, the header (`typ` the
    # expected one, given in lower case), the signature, `aud`, and the times at `now`
    # (Unix seconds). HS256 is verified with the key its kid names in `ring` (an
    # ORIGIN_SECRET-style ring), ES256 with `jwks` (a Jwks); each algorithm with its own
    # keys only, and one whose keys are nil is refused. ruby-jwt checks the signature; the
    # rest is here, so that each rule is exactly the edge's (ruby-jwt 2.5 alone would take
    # a `crit` header, `alg: hs256` and lenient base64, and would refuse an `iat` within the
    # skew).
    def verify(token, typ:, audience:, now:, max_lifetime:, ring: nil, jwks: nil)
      raise AssertionRefused, "token too large" if token.bytesize > MAX_TOKEN_LEN

      parts = token.split(".", -1)
      raise AssertionRefused, "token malformed" unless parts.length == 3

      header_bytes, payload_bytes, signature = parts.map { |part| base64url(part) } # all three, canonical
      header = json_object(header_bytes)
      check_header(header, typ, { "HS256" => ring, "ES256" => jwks }.compact.keys)
      if header["alg"] == "ES256"
        jwks.verify!(token, header, signature, now)
      else
        verify_mac(token, candidates(ring, header))
      end
      claims = json_object(payload_bytes)
      check_times(claims, audience, now, max_lifetime)
      claims
    end

    # What an event's optional detail must be when present (nil is absent, as the edge reads
    # it), as a pattern for `===`.
    EVENT_DETAIL = { "revoked" => ->(v) { [true, false].include?(v) }, "by" => String, "previous" => Hash,
                     "action" => String, "skipped" => String }.freeze

    # The rules of the edge's SecurityEvent::verify (packages/conformance has them all): the
    # JWS checks with typ edge-event+jwt and 300 s of life (a queue message's, 4 days:
    # SecurityEvent::verify_queued), then the event's claims.
    def event(body, keys, audience, now, queue: false)
      text = body.to_s.dup.force_encoding(Encoding::UTF_8)
      raise AssertionRefused, "token malformed" unless text.valid_encoding?

      # Only `true` widens the window: a stray truthy value keeps the webhook's.
      max_lifetime = queue == true ? EVENT_QUEUE_LIFETIME : EVENT_WEBHOOK_LIFETIME
      claims = verify(text.gsub(AROUND_WHITE_SPACE, ""), ring: keys, typ: EVENT_TYPE, audience: audience, now: now,
                                                          max_lifetime: max_lifetime)
      raise AssertionRefused, "iss is not edge-session" unless claims["iss"] == ISSUER

      sub, sid, time = claims.values_at("sub", "sid", "time")
      unless sub.is_a?(String) && !sub.empty? && sub.bytesize <= MAX_SUB_BYTES && sub.valid_encoding? && !sub.match?(/\p{Cc}/)
        raise AssertionRefused, "sub must be 1 to 256 bytes without control characters"
      end
      raise AssertionRefused, "sid is not a session id" unless sid.is_a?(String) && SESSION_ID.match?(sid)
      raise AssertionRefused, "jti or type missing" unless claims.values_at("jti", "type").all? { |v| v.is_a?(String) && !v.empty? }
      raise AssertionRefused, "time is not a Unix time" unless time.is_a?(Integer) && time >= 0

      # Only the claims an event has: iss, aud and the times were checked, and a claim this
      # version does not know is dropped (the edge's own parser does the same).
      event = claims.slice("jti", "type", "sub", "sid", "time")
      event["device"] = claims.fetch("device", {})
      raise AssertionRefused, "device is not an object" unless event["device"].is_a?(Hash)

      EVENT_DETAIL.each do |name, kind|
        next if claims[name].nil?
        raise AssertionRefused, "#{name} has the wrong type" unless kind === claims[name]

        event[name] = claims[name]
      end
      event
    end

    # A kid is a promise of which key signed: an unknown one is refused, even if another
    # key of ours would verify. Without one, every key is tried (all are trusted alike).
    def candidates(keys, header)
      return keys unless header.key?("kid")
      raise AssertionRefused, "token malformed" unless header["kid"].is_a?(String)

      named = keys.select { |kid, _| kid == header["kid"] }
      raise AssertionRefused, "unknown kid" if named.empty?

      named
    end

    # ruby-jwt checks the MAC (and `alg`, again).
    def verify_mac(token, keys)
      raise AssertionRefused, "bad signature" unless keys.any? { |_, key| signed_by?(token, key, ALGORITHM) }
    end

    # ruby-jwt's claim checks are off, being ours (JWS.verify).
    NO_CLAIM_CHECKS = { verify_expiration: false, verify_not_before: false, verify_iat: false, verify_aud: false,
                        verify_iss: false, verify_jti: false, verify_sub: false }.freeze

    # Whether ruby-jwt finds `token` signed with `key` (an HMAC secret, or an OpenSSL EC key)
    # by `algorithm`, and with that `alg` in its header.
    def signed_by?(token, key, algorithm)
      JWT.decode(token, key, true, algorithm: algorithm, **NO_CLAIM_CHECKS)
      true
    rescue JWT::DecodeError, OpenSSL::PKey::PKeyError
      false
    end

    # Exactly the edge's base64url: the URL alphabet, no padding, no stray bits in the last
    # character. Ruby's and ruby-jwt's decoders read other texts as the same bytes, so a
    # token the edge would refuse could pass here.
    def base64url(text)
      if BASE64URL.match?(text) && text.length % 4 != 1
        data = (text.tr("-_", "+/") + ("=" * (-text.length % 4))).unpack1("m")
        return data if [data].pack("m0").tr("+/", "-_").delete("=") == text
      end
      raise AssertionRefused, "token malformed"
    end

    # A JWS part's bytes as a JSON object (UTF-8; JSON.parse refuses NaN and deep nesting).
    def json_object(bytes)
      text = bytes.force_encoding(Encoding::UTF_8)
      value = text.valid_encoding? && JSON.parse(text)
      raise AssertionRefused, "token malformed" unless value.is_a?(Hash)

      value
    rescue JSON::ParserError
      raise AssertionRefused, "token malformed"
    end

    # `alg` exactly one of `algorithms` (those we hold keys for) refuses `none` and
    # algorithm confusion (RFC 8725 §3.1): HS256 never with a public key as its secret,
    # ES256 never without the JWKS. `typ` (in any ASCII case, RFC 7515 §4.1.9) keeps a
    # login directive or an event, signed with the same key, from passing as an assertion,
    # and the reverse (RFC 8725 §3.11). A `crit` names extensions we do not implement, so
    # we must refuse it (RFC 7515 §4.1.11).
    def check_header(header, typ, algorithms)
      raise AssertionRefused, "alg is not #{algorithms.join(" or ")}" unless algorithms.include?(header["alg"])
      # casecmp (not casecmp?) folds ASCII only.
      raise AssertionRefused, "wrong typ" unless header["typ"].is_a?(String) && header["typ"].casecmp(typ).zero?
      raise AssertionRefused, "unsupported crit header" if header.key?("crit")
    end

    # `aud` and the times, as the edge checks them; `now` in Unix seconds.
    def check_times(claims, audience, now, max_lifetime)
      aud = claims["aud"]
      raise AssertionRefused, "wrong aud" unless aud == audience || (aud.is_a?(Array) && aud.include?(audience))

      exp = numeric_date(claims["exp"])
      iat = numeric_date(claims["iat"])
      raise AssertionRefused, "exp or iat missing" if exp.nil? || iat.nil?
      raise AssertionRefused, "expired" if now >= exp + CLOCK_SKEW
      raise AssertionRefused, "iat in the future" if iat > now + CLOCK_SKEW
      raise AssertionRefused, "lifetime too long" if exp - iat > max_lifetime
      return unless claims.key?("nbf")

      nbf = numeric_date(claims["nbf"])
      raise AssertionRefused, "not yet valid (nbf)" if nbf.nil? || nbf > now + CLOCK_SKEW
    end

    # A NumericDate (RFC 7519 §2) as the edge reads one: seconds ≥ 0, fractions truncated.
    def numeric_date(value)
      value.to_i if value.is_a?(Numeric) && value.finite? && value >= 0
    end
  end
  private_constant :JWS

  # One origin's view of the edge: its keys, audience and public URL (defaults from
  # ORIGIN_SECRET, EDGE_JWKS_URL, EDGE_JWKS, ORIGIN_AUDIENCE or "origin", EDGE_URL).
  # ORIGIN_SECRET verifies HS256 assertions; the edge's public JWKS, fetched from
  # EDGE_JWKS_URL (jwks_url:) or given as EDGE_JWKS (jwks:, the JSON text or a parsed
  # Hash), ES256 ones; at least one of the three must be set, and neither JWKS needs a
  # secret. DIRECTIVE_SECRET (directive_secret:) signs logins, logouts and step-ups, and
  # ADMIN_SECRET (admin_secret:) admin tokens, each ORIGIN_SECRET when unset, as the edge
  # verifies them; with neither, a call that signs raises ArgumentError naming the
  # variable. `clock` returns the time in Unix seconds (default: the system clock); tests
  # pass their own to verify at a given time. Unset means nil or "".
  class Client
    attr_reader :audience, :edge_url

    def initialize(secret: ENV["ORIGIN_SECRET"], audience: ENV.fetch("ORIGIN_AUDIENCE", "origin"),
                   edge_url: ENV["EDGE_URL"], events_secret: ENV["EVENTS_SECRET"],
                   directive_secret: ENV["DIRECTIVE_SECRET"], admin_secret: ENV["ADMIN_SECRET"],
                   jwks: ENV["EDGE_JWKS"], jwks_url: ENV["EDGE_JWKS_URL"], logger: nil,
                   clock: -> { Time.now.to_f })
      @logger = logger
      @clock = clock
      @keys = EdgeSession.parse_keys(secret) unless unset?(secret)
      @jwks = Jwks.configure(jwks: jwks, url: jwks_url, log: method(:log_event))
      if @keys.nil? && @jwks.nil?
        raise ArgumentError, "ORIGIN_SECRET, EDGE_JWKS_URL or EDGE_JWKS must be set: nothing could verify an assertion"
      end

      # nil when neither is set: this service only verifies, and a call that signs says so.
      @directive_keys = unset?(directive_secret) ? @keys : EdgeSession.parse_keys(directive_secret, "DIRECTIVE_SECRET")
      @admin_keys = unset?(admin_secret) ? @keys : EdgeSession.parse_keys(admin_secret, "ADMIN_SECRET")
      @audience = audience
      @edge_url = edge_url
      admin_uri(edge_url) unless unset?(edge_url) # only the admin client needs it, but a malformed one fails at startup
      # Only parse_event needs it, but a malformed one fails at startup too.
      @event_keys = EdgeSession.parse_keys(events_secret, "EVENTS_SECRET") unless unset?(events_secret)
    end

    # The Identity of a request whose headers `header.call(name)` reads, or nil. A bad
    # assertion, or identity headers without one, is anonymous and logged; never raises.
    def identify(header)
      token = header.call("X-Edge-Assertion")
      if token.nil? || token.empty?
        log_event("edge_assertion_missing") if header.call("X-Edge-User")
        return nil
      end
      claims = verify_assertion(token)
      Identity.new(sub: claims["sub"], sid: claims["sid"], state: claims["state"], ctx: claims["ctx"],
                   context_changed: JWS.numeric_date(claims["context_changed"]),
                   auth_time: JWS.numeric_date(claims["auth_time"]), amr: claims["amr"])
    rescue AssertionRefused => e
      log_event("edge_assertion_rejected", reason: e.message)
      nil
    end

    # What a handler works with for one request (see Request).
    def request(header)
      Request.new(self, identify(header), header.call("X-Edge-Nonce"), header.call("X-Edge-Session-State"))
    end

    # The claims of a valid X-Edge-Assertion at the clock's time; raises AssertionRefused
    # otherwise, with the edge's own rules (JWS.verify). HS256 needs ORIGIN_SECRET and
    # ES256 the JWKS; a JWKS that cannot be fetched refuses (and logs
    # edge_jwks_unavailable), never raises anything else.
    def verify_assertion(token)
      claims = JWS.verify(token, ring: @keys, jwks: @jwks, typ: "jwt", audience: @audience, now: now,
                                 max_lifetime: ASSERTION_MAX_LIFETIME)
      check_assertion_claims(claims)
      claims
    end

    # EdgeSession.parse_event (`queue: true`: a queue message's body) with this client's
    # events_secret (EVENTS_SECRET), audience and clock; ArgumentError if EVENTS_SECRET is
    # not set.
    def parse_event(body, queue: false)
      raise ArgumentError, "EVENTS_SECRET (events_secret:) is not set" unless @event_keys

      JWS.event(body, @event_keys, @audience, now, queue: queue)
    end

    # The clock's time, in whole Unix seconds.
    def now = @clock.call.to_i

    # Where events go: `logger.warn` if given, else a JSON line on stderr.
    def log_event(event, **detail)
      line = JSON.generate({ event: event }.merge(detail))
      @logger ? @logger.warn(line) : warn(line)
    end

    # X-Edge-Login answering the request whose X-Edge-Nonce is `nonce`. `amr`: how the user
    # proved who they are (RFC 8176: ["pwd"], ["pwd", "otp"]…), which every assertion of the
    # session then carries; 1 to 8 names of [A-Za-z0-9_.:-]{1,16}, else ArgumentError.
    # auth_time: when the user proved who they are, if not now (a login without a
    # password, as the bridge's: 0, so require_recent_auth still asks for one).
    def login_directive(nonce, sub, remember: false, ctx: nil, amr: nil, auth_time: nil)
      raise ArgumentError, "login needs a non-empty sub" if sub.nil? || sub.empty?

      require_amr(amr)
      claims = { "sub" => sub, "remember" => remember, "nonce" => require_nonce(nonce) }
      claims["ctx"] = ctx if ctx
      claims["amr"] = amr if amr
      claims["auth_time"] = auth_time if auth_time
      sign("edge-login+jwt", claims, directive_ring)
    end

    # X-Edge-Step-Up answering the request whose X-Edge-Nonce is `nonce`: `sub`, the user of
    # that request's session, just proved who they are again (a password re-entered, a
    # second factor), by `amr` (as a login's, else ArgumentError). Signed like a login, and
    # typed apart from one, so neither passes for the other. The edge moves the session's
    # auth_time to now and rotates its credential, keeping the session (same sid); it
    # ignores a step-up on an anonymous request, or whose sub is not the session's user, so
    # a step-up never changes who a browser is.
    def step_up_directive(nonce, sub, amr: nil)
      raise ArgumentError, "a step-up needs a non-empty sub" if sub.nil? || sub.empty?

      require_amr(amr)
      claims = { "sub" => sub, "nonce" => require_nonce(nonce) }
      claims["amr"] = amr if amr
      sign("edge-step-up+jwt", claims, directive_ring)
    end

    # X-Edge-Logout answering that request. scope: "everywhere" needs `sub`, whose sessions
    # all end: without one it raises ArgumentError ("scope everywhere needs sub"), since the
    # edge would refuse it.
    def logout_directive(nonce, scope: "session", sub: nil)
      raise ArgumentError, 'scope is "session" or "everywhere"' unless %w[session everywhere].include?(scope)
      raise ArgumentError, "scope everywhere needs sub" if scope == "everywhere" && !(sub.is_a?(String) && !sub.empty?)

      claims = { "scope" => scope, "nonce" => require_nonce(nonce) }
      claims["sub"] = sub if sub
      sign("edge-logout+jwt", claims, directive_ring)
    end

    # A bearer token for POST /__edge/admin: single-use (random jti), at most 60 s. A `sid`
    # or `except` that is not a session id raises ArgumentError ("not a session id: …").
    def admin_token(sub, act, sid: nil, except: nil, lifetime: ADMIN_MAX_LIFETIME)
      raise ArgumentError, "lifetime must be 1..#{ADMIN_MAX_LIFETIME} s" unless lifetime.between?(1, ADMIN_MAX_LIFETIME)
      raise ArgumentError, "revoke needs sid" if act == "revoke" && sid.nil?

      # The edge would refuse the token as a whole (401 invalid token), which reads like a
      # wrong secret: a malformed id is named here instead.
      [sid, except].each do |given|
        raise ArgumentError, "not a session id: #{given.inspect}" unless given.nil? || (given.is_a?(String) && SESSION_ID.match?(given))
      end

      claims = { "sub" => sub, "act" => act, "jti" => SecureRandom.urlsafe_base64(12) }
      claims["sid"] = sid if sid
      claims["except"] = except if except
      sign("edge-admin+jwt", claims, signing_ring(@admin_keys, "ADMIN_SECRET", "call the admin API"), lifetime)
    end

    # The user's live sessions, oldest first: hashes with string keys "sid", "created_at",
    # "last_seen" (Unix seconds), "remember", "device_bound", "user_agent", "browser", "os",
    # "country" (the last four may be nil; browser and OS are read from the user agent). None is marked as the current one: compare "sid" with the
    # request user's sid.
    def list_sessions(sub) = admin(sub, "list").fetch("sessions")
    # Signs one session out: {"revoked" => n, "pending" => n}. A sid that is not a session
    # id raises ArgumentError before any call; one that is not the user's raises AdminError
    # with status 404.
    def revoke_session(sub, sid) = admin(sub, "revoke", sid: sid)
    # Signs out every session but `except` (the current sid): {"revoked" => n, "pending" => n}.
    def revoke_all(sub, except: nil) = admin(sub, "revoke_all", except: except)

    private

    # An assertion's own claims, as the edge checks them (JWS.verify checked the rest).
    def check_assertion_claims(claims)
      raise AssertionRefused, "iss is not edge-session" unless claims["iss"] == ISSUER
      # Without a user and a session there is nobody to trust.
      raise AssertionRefused, "sub missing" unless claims["sub"].is_a?(String) && !claims["sub"].empty?
      raise AssertionRefused, "sid missing" unless claims["sid"].is_a?(String)
      raise AssertionRefused, "state missing" unless claims["state"].is_a?(String)
      raise AssertionRefused, "ctx is not an object" unless claims["ctx"].nil? || claims["ctx"].is_a?(Hash)
      %w[context_changed auth_time].each do |name|
        raise AssertionRefused, "#{name} is not a NumericDate" unless claims[name].nil? || JWS.numeric_date(claims[name])
      end
      amr = claims["amr"]
      raise AssertionRefused, "amr is not an array of strings" unless amr.nil? || (amr.is_a?(Array) && amr.all?(String))
    end

    def admin(sub, act, **params)
      raise ArgumentError, "EDGE_URL (edge_url:) is not set: the admin API is on the app's public URL" if unset?(@edge_url)

      uri = admin_uri(@edge_url)
      request = Net::HTTP::Post.new(uri, "Authorization" => "Bearer #{admin_token(sub, act, **params)}")
      response = Net::HTTP.start(uri.hostname, uri.port, use_ssl: uri.scheme == "https", open_timeout: 10, read_timeout: 10) do |http|
        http.request(request)
      end
      body = JSON.parse(response.body) rescue response.body
      # Net::HTTP follows no redirect, and the admin API answers none: a 3xx (never followed,
      # the token goes nowhere else) is an AdminError like any status but 2xx.
      raise AdminError.new(response.code.to_i, body) unless response.is_a?(Net::HTTPSuccess)

      body
    end

    def unset?(value) = value.nil? || value == ""

    # A verify-only service (the JWKS, no ORIGIN_SECRET) holds no key to sign with: said by
    # name when it is asked to, not at construction.
    def directive_ring = signing_ring(@directive_keys, "DIRECTIVE_SECRET", "sign logins, logouts and step-ups")

    def signing_ring(ring, name, job)
      ring || raise(ArgumentError, "#{name} is not set: this service only verifies identities " \
                                   "(set #{name}, or ORIGIN_SECRET, to #{job})")
    end

    # {edge_url}/__edge/admin, parsed rather than joined: URI.join kept a query or
    # credentials in EDGE_URL and dropped a path without a word. The rule is the Rust
    # crate's: http(s)://host[:port], an optional trailing slash. A refusal names the rule it
    # broke, never the value: with the arguments swapped, that would be ORIGIN_SECRET.
    def admin_uri(edge_url)
      refused = lambda do |rule|
        ArgumentError.new("EDGE_URL (edge_url:) must be http(s)://host[:port], with no path, query, fragment " \
                          "or credentials: #{rule}")
      end
      # Not raised in the rescue: the InvalidURIError, which quotes the value, would be its cause.
      uri = (URI.parse(edge_url) rescue nil) if edge_url.is_a?(String) && !edge_url.match?(/[[:space:]]|[[:cntrl:]]/)
      raise refused.call("it is not a URL") if uri.nil?
      raise refused.call("the scheme is not http or https") unless uri.is_a?(URI::HTTP)
      raise refused.call("it has credentials") if uri.userinfo
      raise refused.call("it has no host") if uri.host.nil? || uri.host.empty?
      raise refused.call("it has a path") unless ["", "/"].include?(uri.path)
      raise refused.call("it has a query") if uri.query
      raise refused.call("it has a fragment") if uri.fragment

      uri.dup.tap { |endpoint| endpoint.path = "/__edge/admin" }
    end

    # Signed with the first key of `keys`: the directive ring or the admin ring.
    def sign(typ, claims, keys, lifetime = 120)
      kid, key = keys.first
      iat = now
      JWT.encode({ "aud" => "edge-session", "iat" => iat, "exp" => iat + lifetime }.merge(claims), key, ALGORITHM,
                 { "typ" => typ, "kid" => kid })
    end

    # A login's or step-up's `amr`: the edge would ignore the whole directive
    # (directive_rejected), so it is refused here, by name.
    def require_amr(amr)
      return if amr.nil? || (amr.is_a?(Array) && amr.length.between?(1, MAX_AMR) &&
                             amr.all? { |name| name.is_a?(String) && name.ascii_only? && AMR_NAME.match?(name) })

      raise ArgumentError, "amr must be 1 to #{MAX_AMR} names of [A-Za-z0-9_.:-]{1,16}"
    end

    # The edge ignores a directive that does not echo the X-Edge-Nonce of the request it
    # answers, so a cached or captured response can never log anyone else in.
    def require_nonce(nonce)
      raise ArgumentError, "no X-Edge-Nonce: a directive can only answer a request that came through the edge" if nonce.nil? || nonce.empty?

      nonce
    end
  end

  # One request, whatever the framework: `user`, `refusal`, and directives for its
  # response. `state` is its X-Edge-Session-State. The edge strips that header from every
  # client request and sets it itself: on an identified request it is the assertion's
  # state; on an anonymous one, why the edge refused the edge cookie it carried. It is
  # absent when there was no edge cookie.
  class Request
    attr_reader :user, :nonce, :state, :response_headers

    def initialize(client, user, nonce, state = nil)
      @client = client
      @user = user
      @nonce = nonce
      @state = state
      @response_headers = {}
      # Whether the login on this response came from adopt, and whether logout was called.
      @adopted = false
      @logged_out = false
    end

    # Why the edge refused this anonymous request's edge cookie ("ended", "expired",
    # "reused", "device_bound", "invalid"), else nil.
    def refusal = @user ? nil : @state

    # Whether the user signed in (`auth_time`) at most `max_age` seconds ago by the client's
    # clock, and the session has not refreshed from another context since
    # (`context_changed`): what a sensitive action asks. Else send them to sign in again.
    # An auth_time more than 30 s ahead (the skew the assertion's own times get) is no
    # proof: on an origin whose clock lags, it would pass for longer than max_age.
    def signed_in_within?(max_age)
      auth_time = @user&.auth_time
      return false if auth_time.nil?

      now = @client.now
      return false if auth_time > now + CLOCK_SKEW

      now - auth_time <= max_age && (@user.context_changed.nil? || @user.context_changed <= auth_time)
    end

    # Replaces a login that `adopt` put on this response; a `logout` beside it keeps it (an
    # account switch).
    def login(sub, remember: false, ctx: nil, amr: nil)
      @response_headers["X-Edge-Login"] = @client.login_directive(@nonce, sub, remember: remember, ctx: ctx, amr: amr)
      # The app's own login replaced the bridge's: a logout must no longer take it back.
      # (adopt calls this, then marks its own login again.)
      @adopted = false
    end

    # Records that this request's user just proved who they are again (`amr`: how, e.g.
    # ["pwd"]): when this response reaches the edge, the session's auth_time moves to now
    # and its credential rotates in place, so require_recent_auth passes on the next
    # request. A step-up is not a login: on an anonymous request it raises ArgumentError
    # and sets nothing. (A login or logout on the same response wins: the edge then
    # ignores the step-up.)
    def step_up(amr: nil)
      raise ArgumentError, "step_up needs a signed-in request: use login for an anonymous one" unless @user

      @response_headers[STEP_UP_HEADER] = @client.step_up_directive(@nonce, @user.sub, amr: amr)
    end

    # Takes back a login that `adopt` put on this response; an explicit `login` stays (an
    # account switch). scope: "everywhere" ends every session of `sub`, by default this
    # request's user; on an anonymous request without `sub` it raises ArgumentError.
    def logout(scope: "session", sub: nil)
      sub = @user.sub if scope == "everywhere" && sub.nil? && @user
      directive = @client.logout_directive(@nonce, scope: scope, sub: sub)
      # The edge applies logout then login: the bridge's login would undo this logout.
      @response_headers.delete("X-Edge-Login") if @adopted
      @adopted = false
      @logged_out = true
      @response_headers["X-Edge-Logout"] = directive
    end

    # The migration bridge: a legacy session for `sub`, no edge identity and no edge
    # cookie → log `sub` in at the edge with this response. Returns whether it did. Clear
    # the legacy session in this same response. After `logout` on this request it does
    # nothing and returns false.
    def adopt(sub, remember: false)
      return false if @user || sub.nil? || sub.empty? || @logged_out

      unless @state.nil?
        # The edge refused this jar's edge cookie (logged out everywhere, revoked, reused,
        # or a device-bound session's cookie without its key). The legacy session beside
        # it is from the same jar: logging it in would undo that refusal.
        @client.log_event("edge_adopt_refused", refusal: @state)
        return false
      end
      if @nonce.nil? || @nonce.empty?
        @client.log_event("edge_adopt_no_nonce", reason: "no X-Edge-Nonce: the request did not come through the edge")
        return false
      end
      # The app's old session is no proof of presence now: auth_time 0 (never recent).
      @response_headers["X-Edge-Login"] = @client.login_directive(@nonce, sub, remember: remember, auth_time: 0)
      @adopted = true
      true
    end
  end
end
