# frozen_string_literal: true

# Sensitive actions (issue 20): a secret per job (DIRECTIVE_SECRET signs logins and
# logouts, ADMIN_SECRET admin tokens, each ORIGIN_SECRET when unset), a login's `amr`, and
# require_recent_auth (auth_time recent, no context change since).
#
#   ruby -I packages/ruby/lib packages/ruby/test/sensitive_actions_test.rb
require "base64"
require "json"
require "minitest/autorun"
require "openssl"
require "edge_session/rack"

class SensitiveActionsTest < Minitest::Test
  NOW = 1_700_000_000
  ORIGIN = "o1:#{"o" * 32}"
  DIRECTIVE = "d2:#{"d" * 32},d1:#{"e" * 32}"
  ADMIN = "a1:#{"a" * 32}"
  SID = "AQEBAQEBAQEBAQEBAQEBAQ"
  VARIABLES = %w[ORIGIN_SECRET DIRECTIVE_SECRET ADMIN_SECRET].freeze

  def setup = @saved = VARIABLES.to_h { |name| [name, ENV.fetch(name, nil)] }
  def teardown = @saved.each { |name, value| ENV[name] = value }

  QUIET = Class.new { def warn(_line) = nil }.new

  # A client of the rings given, and no other (whatever the environment holds).
  def client(**rings)
    EdgeSession::Client.new(directive_secret: nil, admin_secret: nil, audience: "origin", logger: QUIET,
                            clock: -> { NOW + 0.9 }, **rings)
  end

  # A client from the environment alone: ORIGIN_SECRET, DIRECTIVE_SECRET, ADMIN_SECRET.
  def client_from(env)
    VARIABLES.each { |name| ENV[name] = env[name] }
    EdgeSession::Client.new(audience: "origin", logger: QUIET, clock: -> { NOW + 0.9 })
  end

  def part(jws, index) = JSON.parse(Base64.urlsafe_decode64(jws.split(".")[index]))

  # Whether `jws` carries a MAC of the key its kid names in `ring` (a kid:secret text).
  def verifies?(jws, ring)
    input, _, mac = jws.rpartition(".")
    key = EdgeSession.parse_keys(ring).to_h[part(jws, 0)["kid"]]
    !key.nil? && OpenSSL::HMAC.digest("SHA256", key, input) == Base64.urlsafe_decode64(mac)
  end

  # Every token the client signs for its directives, and for its admin calls.
  def directives(edge)
    request = edge.request(->(name) { { "X-Edge-Nonce" => "n0nce" }[name] })
    request.login("ada")
    request.logout(scope: "everywhere", sub: "ada")
    adopted = edge.request(->(name) { { "X-Edge-Nonce" => "n0nce" }[name] })
    assert adopted.adopt("lee")
    [edge.login_directive("n0nce", "ada", amr: ["pwd"]), edge.logout_directive("n0nce"),
     edge.logout_directive("n0nce", scope: "everywhere", sub: "ada"), *request.response_headers.values,
     adopted.response_headers["X-Edge-Login"]]
  end

  def admin_tokens(edge)
    [edge.admin_token("ada", "list"), edge.admin_token("ada", "revoke", sid: SID),
     edge.admin_token("ada", "revoke_all", except: SID)]
  end

  def test_directive_secret_signs_directives_and_admin_secret_admin_tokens
    [client(secret: ORIGIN, directive_secret: DIRECTIVE, admin_secret: ADMIN),
     client_from("ORIGIN_SECRET" => ORIGIN, "DIRECTIVE_SECRET" => DIRECTIVE, "ADMIN_SECRET" => ADMIN)].each do |edge|
      directives(edge).each do |jws|
        assert_equal("d2", part(jws, 0)["kid"], "the directive ring's first key signs")
        assert verifies?(jws, DIRECTIVE)
        refute verifies?(jws, ORIGIN)
        refute verifies?(jws, ADMIN)
      end
      admin_tokens(edge).each do |jws|
        assert_equal("a1", part(jws, 0)["kid"])
        assert verifies?(jws, ADMIN)
        refute verifies?(jws, ORIGIN)
        refute verifies?(jws, DIRECTIVE)
      end
    end
  end

  def test_without_them_origin_secret_signs_everything_as_before
    # Unset, or empty (unset, as the edge reads it).
    [client_from("ORIGIN_SECRET" => ORIGIN), client_from("ORIGIN_SECRET" => ORIGIN, "DIRECTIVE_SECRET" => "", "ADMIN_SECRET" => ""),
     client(secret: ORIGIN, directive_secret: nil, admin_secret: nil)].each do |edge|
      (directives(edge) + admin_tokens(edge)).each do |jws|
        assert_equal("o1", part(jws, 0)["kid"])
        assert verifies?(jws, ORIGIN)
      end
    end
    # Each alone: the other job stays on ORIGIN_SECRET.
    edge = client(secret: ORIGIN, directive_secret: DIRECTIVE)
    assert verifies?(edge.admin_token("ada", "list"), ORIGIN)
    edge = client(secret: ORIGIN, admin_secret: ADMIN)
    assert verifies?(edge.login_directive("n0nce", "ada"), ORIGIN)
  end

  def test_assertions_are_still_verified_with_origin_secret
    edge = client(secret: ORIGIN, directive_secret: DIRECTIVE, admin_secret: ADMIN)
    assert_equal("ada", edge.identify(reader(assertion(ORIGIN))).sub)
    assert_nil edge.identify(reader(assertion(DIRECTIVE)))
  end

  def test_a_malformed_ring_fails_at_construction_naming_the_variable_never_the_secret
    { directive_secret: "DIRECTIVE_SECRET", admin_secret: "ADMIN_SECRET" }.each do |option, name|
      ["d1:s3cr3t", "s3cr3t#{"x" * 40}", "d1:#{"s3cr3t" * 6},d1:#{"s3cr3t" * 6}"].each do |bad|
        refused = assert_raises(ArgumentError) { client(secret: ORIGIN, option => bad) }
        assert_match(/\A#{name} /, refused.message)
        refute_includes(refused.message, "s3cr3t")
      end
      refused = assert_raises(ArgumentError) { client_from("ORIGIN_SECRET" => ORIGIN, name => "x1:short") }
      assert_match(/\A#{name} key #1/, refused.message)
    end
  end

  def test_login_with_amr
    edge = client(secret: ORIGIN)
    [["pwd"], %w[pwd otp], ["x" * 16], ["urn:a.b_c-1"], ["mfa"] * 8].each do |amr|
      assert_equal(amr, part(edge.login_directive("n0nce", "ada", amr: amr), 1)["amr"])
    end
    refute part(edge.login_directive("n0nce", "ada"), 1).key?("amr")
    request = edge.request(->(name) { { "X-Edge-Nonce" => "n0nce" }[name] })
    request.login("ada", remember: true, amr: ["otp"])
    assert_equal(["otp"], part(request.response_headers["X-Edge-Login"], 1)["amr"])
    ["pwd", [], [1], ["a b"], ["x" * 17], ["a"] * 9, [""], [:pwd], ["pwé"], ["pwd\n"], {}].each do |bad|
      refused = assert_raises(ArgumentError, bad.inspect) { edge.login_directive("n0nce", "ada", amr: bad) }
      assert_equal("amr must be 1 to 8 names of [A-Za-z0-9_.:-]{1,16}", refused.message)
      assert_raises(ArgumentError) { request.login("ada", amr: bad) }
    end
  end

  def test_auth_time_and_amr_on_the_user
    user = client(secret: ORIGIN).identify(reader(assertion(ORIGIN, auth_time: NOW - 60.5, amr: %w[pwd otp])))
    assert_equal([NOW - 61, %w[pwd otp]], [user.auth_time, user.amr])
    assert_equal([NOW - 61, %w[pwd otp]], user.to_h.values_at(:auth_time, :amr))
    user = client(secret: ORIGIN).identify(reader(assertion(ORIGIN)))
    assert_equal([nil, nil], [user.auth_time, user.amr])
  end

  # require_recent_auth(env, 600) through the middleware, for an assertion with `claims`
  # (nil: an anonymous request).
  def recent(claims, max_age: 600, **options)
    app = ->(env) { [200, {}, [EdgeSession::Rack.require_recent_auth(env, max_age, **options)]] }
    env = claims ? { "HTTP_X_EDGE_ASSERTION" => assertion(ORIGIN, **claims) } : {}
    EdgeSession::Rack::Middleware.new(app, client: client(secret: ORIGIN)).call(env)[2].first
  end

  def test_require_recent_auth
    stale = [401, { "Content-Type" => "application/json", "Cache-Control" => "no-store" }, ['{"error":"recent sign-in required"}']]
    assert_nil recent({ auth_time: NOW })
    assert_nil recent({ auth_time: NOW - 600, amr: ["pwd"] }) # exactly max_age ago (the clock's NOW + 0.9 is NOW)
    assert_nil recent({ auth_time: NOW + 5 })                 # within the edge's skew
    assert_equal(stale, recent({ auth_time: NOW - 601 }))
    assert_equal(stale, recent({ auth_time: NOW - 601 }, max_age: 600))
    assert_nil recent({ auth_time: NOW - 601 }, max_age: 601)
    assert_equal(stale, recent({}), "no auth_time (an older edge)")
    assert_equal(stale, recent({ auth_time: nil }))
    # A context change after the login: sign in again. At or before it: fine.
    assert_equal(stale, recent({ auth_time: NOW - 60, context_changed: NOW - 59 }))
    assert_nil recent({ auth_time: NOW - 60, context_changed: NOW - 60 })
    assert_nil recent({ auth_time: NOW - 60, context_changed: NOW - 3600 })
    # Anonymous: require_user's own answer.
    anonymous = [401, { "Content-Type" => "application/json", "Cache-Control" => "no-store" }, ['{"error":"not signed in"}']]
    assert_equal(anonymous, recent(nil))
    # For a page, a redirect to sign in, as require_user's.
    page = [303, { "Location" => "/signin", "Cache-Control" => "no-store" }, []]
    assert_equal(page, recent({ auth_time: NOW - 601 }, mode: :page, login_url: "/signin"))
    assert_equal(page, recent(nil, mode: :page, login_url: "/signin"))
    assert_nil recent({ auth_time: NOW }, mode: :page)
  end

  # An origin whose clock lags the edge's: an auth_time more than 30 s ahead of ours (the
  # skew the assertion's own times get) is no proof of a recent sign-in, else it would
  # pass for max_age plus however far ahead it is. (The client's clock reads NOW.)
  def test_an_auth_time_in_the_future_is_not_recent
    signed_in = ->(auth_time) { client(secret: ORIGIN).request(reader(assertion(ORIGIN, auth_time: auth_time))) }
    assert signed_in.call(NOW + 30).signed_in_within?(600), "30 s ahead: within the skew"
    refute signed_in.call(NOW + 31).signed_in_within?(600), "31 s ahead"
    refute signed_in.call(NOW + 3600).signed_in_within?(600), "an hour ahead"
    refute signed_in.call(NOW + 3600).signed_in_within?(86_400), "whatever max_age"
    assert_equal("ada", signed_in.call(NOW + 3600).user&.sub, "the assertion itself is valid: only the test refuses")
    stale = [401, { "Content-Type" => "application/json", "Cache-Control" => "no-store" }, ['{"error":"recent sign-in required"}']]
    assert_nil recent({ auth_time: NOW + 30 })
    assert_equal(stale, recent({ auth_time: NOW + 31 }))
    assert_equal(stale, recent({ auth_time: NOW + 3600 }, max_age: 86_400))
  end

  def reader(headers) = ->(name) { { "X-Edge-Assertion" => headers }[name] }

  # An assertion as the edge signs one (ORIGIN_SECRET's first key), at NOW, with `claims`.
  def assertion(ring, **claims)
    kid, key = EdgeSession.parse_keys(ring).first
    payload = { "iss" => "edge-session", "aud" => "origin", "sub" => "ada", "sid" => SID, "state" => "fresh",
                "iat" => NOW, "exp" => NOW + 60 }.merge(claims.transform_keys(&:to_s))
    JWT.encode(payload, key, "HS256", { "typ" => "JWT", "kid" => kid })
  end
end
