# frozen_string_literal: true

# The step-up directive (X-Edge-Step-Up): the user of this session just proved who they
# are again. Each header is checked here independently of the gem: its MAC computed with
# OpenSSL over header.payload, and its parts base64url-decoded and parsed by the test.
#
#   ruby -I packages/ruby/lib packages/ruby/test/step_up_test.rb
require "json"
require "minitest/autorun"
require "openssl"
require "edge_session/rack"

class StepUpTest < Minitest::Test
  NOW = 1_700_000_000
  ORIGIN = "o1:#{"o" * 32}"
  DIRECTIVE = "d2:#{"d" * 32},d1:#{"e" * 32}"
  NONCE = "AAECAwQFBgcICQoLDA0ODw"
  SID = "AQEBAQEBAQEBAQEBAQEBAQ"

  QUIET = Class.new { def warn(_line) = nil }.new

  # A client of these keys and no others (whatever the environment holds).
  def client(secret: ORIGIN, directive_secret: DIRECTIVE, jwks: nil)
    EdgeSession::Client.new(secret: secret, directive_secret: directive_secret, admin_secret: nil, events_secret: nil,
                            jwks: jwks, jwks_url: nil, edge_url: nil, audience: "origin", logger: QUIET,
                            clock: -> { NOW + 0.9 })
  end

  # base64url without padding, decoded by the test (strict: "m0" refuses stray characters).
  def unbase64url(text)
    assert_match(/\A[A-Za-z0-9_-]+\z/, text, "base64url, no padding")
    (text.tr("-_", "+/") + ("=" * (-text.length % 4))).unpack1("m0")
  end

  # The header and claims of `jws`, after checking its HS256 MAC with the secret `kid`
  # names in `ring` (a kid:secret text, split here, not by the gem).
  def verified(jws, ring)
    parts = jws.split(".", -1)
    assert_equal(3, parts.length)
    header, claims = parts[0, 2].map { |part| JSON.parse(unbase64url(part)) }
    secret = ring.split(",").to_h { |pair| pair.split(":", 2) }.fetch(header["kid"])
    mac = OpenSSL::HMAC.digest("SHA256", secret, "#{parts[0]}.#{parts[1]}")
    assert_equal(mac, unbase64url(parts[2]), "HMAC-SHA256 of header.payload with the ring's #{header["kid"]}")
    [header, claims]
  end

  def check_step_up(jws, sub:, amr:, ring: DIRECTIVE, kid: "d2")
    header, claims = verified(jws, ring)
    assert_equal({ "alg" => "HS256", "typ" => "edge-step-up+jwt", "kid" => kid }, header)
    assert_equal(["edge-session", sub, NONCE], claims.values_at("aud", "sub", "nonce"))
    amr.nil? ? refute(claims.key?("amr")) : assert_equal(amr, claims["amr"])
    assert_equal(NOW, claims["iat"])
    assert_operator(claims["exp"], :>, claims["iat"])
    refute(claims.key?("remember"), "a step-up is no login")
  end

  # A request through the gem, identified as `sub` (nil: anonymous), with the nonce.
  def request(edge, sub: "zoë")
    headers = { "X-Edge-Nonce" => NONCE }
    headers["X-Edge-Assertion"] = assertion(sub) if sub
    edge.request(->(name) { headers[name] })
  end

  # An assertion as the edge signs one with ORIGIN_SECRET, at NOW.
  def assertion(sub)
    kid, secret = ORIGIN.split(":", 2)
    claims = { iss: "edge-session", aud: "origin", sub: sub, sid: SID, state: "fresh", iat: NOW, exp: NOW + 60,
               auth_time: NOW - 3600, amr: ["pwd"] }
    input = [{ alg: "HS256", typ: "JWT", kid: kid }, claims].map { |part| b64u(JSON.generate(part)) }.join(".")
    "#{input}.#{b64u(OpenSSL::HMAC.digest("SHA256", secret, input))}"
  end

  def b64u(bytes) = [bytes].pack("m0").tr("+/", "-_").delete("=")

  def test_the_header_name
    assert_equal("X-Edge-Step-Up", EdgeSession::STEP_UP_HEADER)
  end

  def test_step_up_on_a_signed_in_request_sets_the_header_for_its_user
    edge = client
    [["pwd"], %w[pwd otp], nil].each do |amr|
      req = request(edge)
      req.step_up(amr: amr)
      assert_equal([EdgeSession::STEP_UP_HEADER], req.response_headers.keys)
      check_step_up(req.response_headers[EdgeSession::STEP_UP_HEADER], sub: "zoë", amr: amr)
    end
  end

  def test_the_directive_signer
    check_step_up(client.step_up_directive(NONCE, "ada", amr: ["hwk"]), sub: "ada", amr: ["hwk"])
    check_step_up(client.step_up_directive(NONCE, "ada"), sub: "ada", amr: nil)
    # Without DIRECTIVE_SECRET, ORIGIN_SECRET signs it, as it does a login.
    check_step_up(client(directive_secret: nil).step_up_directive(NONCE, "ada"), sub: "ada", amr: nil, ring: ORIGIN,
                                                                                 kid: "o1")
    assert_raises(ArgumentError) { client.step_up_directive(NONCE, "") }
    assert_raises(ArgumentError) { client.step_up_directive(NONCE, nil) }
    refused = assert_raises(ArgumentError) { client.step_up_directive(nil, "ada") }
    assert_match(/X-Edge-Nonce/, refused.message)
  end

  def test_an_anonymous_request_raises_and_sets_nothing
    req = request(client, sub: nil)
    assert_nil(req.user)
    refused = assert_raises(ArgumentError) { req.step_up(amr: ["pwd"]) }
    assert_match(/signed-in request/, refused.message)
    assert_empty(req.response_headers)
  end

  def test_a_bad_amr_raises_and_sets_nothing
    edge = client
    ["pwd", [], [1], ["a b"], ["x" * 17], ["a"] * 9, [""], [:pwd], ["pwé"], ["pwd\n"], {}].each do |bad|
      req = request(edge)
      refused = assert_raises(ArgumentError, bad.inspect) { req.step_up(amr: bad) }
      assert_equal("amr must be 1 to 8 names of [A-Za-z0-9_.:-]{1,16}", refused.message)
      assert_empty(req.response_headers)
      assert_raises(ArgumentError, bad.inspect) { edge.step_up_directive(NONCE, "ada", amr: bad) }
    end
  end

  def test_a_verify_only_service_cannot_sign_one
    point = OpenSSL::PKey::EC.generate("prime256v1").public_key.to_octet_string(:uncompressed)
    jwks = { "keys" => [{ "kty" => "EC", "crv" => "P-256", "x" => b64u(point[1, 32]), "y" => b64u(point[33, 32]) }] }
    edge = client(secret: nil, directive_secret: nil, jwks: jwks)
    refused = assert_raises(ArgumentError) { edge.step_up_directive(NONCE, "ada") }
    assert_match(/\ADIRECTIVE_SECRET is not set/, refused.message)
  end

  def test_the_rack_middleware_puts_it_on_the_response
    app = lambda do |env|
      EdgeSession::Rack.edge(env).step_up(amr: ["pwd"])
      [303, { "Location" => "/" }, []]
    end
    env = { "HTTP_X_EDGE_NONCE" => NONCE, "HTTP_X_EDGE_ASSERTION" => assertion("ada") }
    status, headers, = EdgeSession::Rack::Middleware.new(app, client: client).call(env)
    assert_equal(303, status)
    check_step_up(headers.fetch("X-Edge-Step-Up"), sub: "ada", amr: ["pwd"])
  end
end
