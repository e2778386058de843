# frozen_string_literal: true

# ES256 assertions verified with the edge's JWKS: EDGE_JWKS (static) and EDGE_JWKS_URL,
# fetched over real HTTP from a server on 127.0.0.1 started here. Keys are made here with
# OpenSSL, and tokens signed with OpenSSL alone (its DER signature turned into r || s
# here), not with the gem's code nor ruby-jwt.
#
#   ruby -I packages/ruby/lib packages/ruby/test/jwks_test.rb
require "json"
require "minitest/autorun"
require "openssl"
require "socket"
require "edge_session/rack"

# A JWKS endpoint on 127.0.0.1: counts the requests it gets and answers each with `reply`
# (a lambda writing a whole HTTP response on the socket).
class JwksServer
  attr_accessor :reply
  attr_reader :port

  # `port`: 0 for any; a stopped server's own, to bring it back at the same URL.
  def initialize(port = 0)
    @listener = TCPServer.new("127.0.0.1", port)
    @port = @listener.addr[1]
    @lock = Mutex.new
    @paths = []
    @reply = self.class.json(200, { keys: [] })
    @thread = Thread.new { accept_loop }
  end

  def url = "http://127.0.0.1:#{@port}/__edge/jwks.json"
  def hits = @lock.synchronize { @paths.length }
  def paths = @lock.synchronize { @paths.dup }

  def stop
    @listener.close
    @thread.join
  end

  # A whole response: `status`, the body, and Content-Length unless `length: false` (then
  # the body ends when the connection does).
  def self.http(status, body, length: true, delay: 0)
    lambda do |socket|
      sleep(delay)
      socket.write("HTTP/1.1 #{status}\r\nContent-Type: application/json\r\nConnection: close\r\n")
      socket.write("Content-Length: #{body.bytesize}\r\n") if length
      socket.write("\r\n")
      body.each_char.each_slice(8192) { |chunk| socket.write(chunk.join) }
    end
  end

  def self.json(status, value, **options) = http(status, JSON.generate(value), **options)

  private

  def accept_loop
    loop { Thread.new(@listener.accept) { |socket| serve(socket) } }
  rescue IOError, SystemCallError
    nil # closed by stop
  end

  def serve(socket)
    path = socket.gets.to_s.split(" ")[1]
    nil while (line = socket.gets) && line != "\r\n"
    @lock.synchronize { @paths << path }
    @reply.call(socket)
  rescue IOError, SystemCallError
    nil # the client gave up (too large, too slow): as it should
  ensure
    socket.close
  end
end

class JwksTest < Minitest::Test
  AUDIENCE = "origin"
  MARKER = "s3cr3t-body" # in every bad body: a reason must never quote it
  VARIABLES = %w[ORIGIN_SECRET EDGE_JWKS EDGE_JWKS_URL DIRECTIVE_SECRET ADMIN_SECRET EVENTS_SECRET EDGE_URL
                 ORIGIN_AUDIENCE].freeze

  # The events the gem logs, parsed.
  class Log
    def initialize = @lines = Queue.new
    def warn(line) = @lines << JSON.parse(line)
    def lines = Array.new(@lines.size) { @lines.pop }
  end

  def setup
    @saved = VARIABLES.to_h { |name| [name, ENV.fetch(name, nil)] }
    @now = 1_700_000_000
    @log = Log.new
    @a1 = OpenSSL::PKey::EC.generate("prime256v1")
    @b2 = OpenSSL::PKey::EC.generate("prime256v1")
    @stranger = OpenSSL::PKey::EC.generate("prime256v1") # in no JWKS
    @server = JwksServer.new
    @server.reply = JwksServer.json(200, { keys: [jwk(@a1, "a1")] })
  end

  def teardown
    @server.stop
    @saved.each { |name, value| ENV[name] = value }
  end

  def b64u(bytes) = [bytes].pack("m0").tr("+/", "-_").delete("=")

  # The public JWK of `key`, as the edge serves it.
  def jwk(key, kid, **extra)
    point = key.public_key.to_octet_string(:uncompressed)
    { kty: "EC", crv: "P-256", kid: kid, use: "sig", alg: "ES256", x: b64u(point[1, 32]), y: b64u(point[33, 32]) }
      .compact.merge(extra)
  end

  # An assertion as the edge signs it, at the test's clock: OpenSSL's ECDSA, its DER
  # (SEQUENCE of r and s) turned into the 64 bytes of r || s that JWS carries.
  def assertion(key, kid, sub: "ada", now: @now)
    header = { alg: "ES256", typ: "JWT", kid: kid }.compact
    claims = { iss: "edge-session", aud: AUDIENCE, sub: sub, sid: "AQEBAQEBAQEBAQEBAQEBAQ", state: "fresh",
               iat: now, exp: now + 60 }
    input = "#{b64u(JSON.generate(header))}.#{b64u(JSON.generate(claims))}"
    r, s = OpenSSL::ASN1.decode(key.sign("SHA256", input)).value.map { |n| n.value.to_s(2).rjust(32, "\0".b) }
    "#{input}.#{b64u(r + s)}"
  end

  def client(jwks_url: @server.url, **options)
    EdgeSession::Client.new(secret: nil, jwks: nil, jwks_url: jwks_url, directive_secret: nil, admin_secret: nil,
                            events_secret: nil, edge_url: nil, audience: AUDIENCE, logger: @log,
                            clock: -> { @now }, **options)
  end

  def sub_of(client, token) = client.identify(->(name) { name == "X-Edge-Assertion" ? token : nil })&.sub
  def events = @log.lines.map { |line| line["event"] }

  def test_fetched_on_first_use_then_kept_five_minutes
    edge = client
    assert_equal(0, @server.hits, "not fetched at construction: the edge may start later")

    assert_equal("ada", sub_of(edge, assertion(@a1, "a1")))
    assert_equal(1, @server.hits)
    @now += 299
    assert_equal("bob", sub_of(edge, assertion(@a1, "a1", sub: "bob")))
    assert_equal(1, @server.hits, "a second assertion within 5 minutes does not refetch")
    @now += 1
    assert_equal("ada", sub_of(edge, assertion(@a1, "a1")))
    assert_equal(2, @server.hits, "after 5 minutes, fetched again")
    assert_equal(["/__edge/jwks.json"] * 2, @server.paths)
    assert_empty(events)
  end

  def test_an_unknown_kid_refetches_at_most_once_per_30_s_however_many_ask
    edge = client
    assert_equal("ada", sub_of(edge, assertion(@a1, "a1")))
    @now += 31
    assert_nil(sub_of(edge, assertion(@stranger, "zz")))
    assert_equal(2, @server.hits, "an unknown kid refetches")
    assert_equal(["edge_assertion_rejected"], events)

    20.times { |i| assert_nil(sub_of(edge, assertion(@stranger, "kid#{i}"))) }
    assert_nil(sub_of(edge, assertion(@stranger, nil)), "no kid, no key verifies: the same cooldown")
    assert_equal(2, @server.hits, "a burst within the cooldown fetches no more")

    # Past the cooldown, 20 requests at once with a kid rotated in meanwhile, and a slow
    # JWKS: one fetch, and all 20 wait for it and verify with its keys.
    @now += 31
    @server.reply = JwksServer.json(200, { keys: [jwk(@b2, "b2"), jwk(@a1, "a1")] }, delay: 0.3)
    subs = Array.new(20) { |i| Thread.new { sub_of(edge, assertion(@b2, "b2", sub: "u#{i}")) } }.map(&:value)
    assert_equal(Array.new(20) { |i| "u#{i}" }, subs)
    assert_equal(3, @server.hits, "concurrent requests share one fetch")
    20.times { assert_nil(sub_of(edge, assertion(@stranger, "zz"))) }
    assert_equal(3, @server.hits)
  end

  def test_a_key_rotated_in_is_picked_up_on_first_use_of_its_kid
    edge = client
    assert_equal("ada", sub_of(edge, assertion(@a1, "a1")))
    @server.reply = JwksServer.json(200, { keys: [jwk(@b2, "b2"), jwk(@a1, "a1")] })

    @now += 10
    assert_nil(sub_of(edge, assertion(@b2, "b2")), "within the cooldown of the last fetch: not yet")
    assert_equal(1, @server.hits)
    @now += 21
    assert_equal("ada", sub_of(edge, assertion(@b2, "b2")))
    assert_equal(2, @server.hits)
    assert_equal("ada", sub_of(edge, assertion(@b2, nil)), "without a kid, every key is tried")
    assert_equal("ada", sub_of(edge, assertion(@a1, "a1")), "the older key still verifies")
    assert_equal(2, @server.hits)
  end

  # Two usable keys under one kid: the set is ambiguous, so the kid names none, though one
  # of them signed. As for an unknown kid, the set is fetched again (the cooldown allowing),
  # and a set that names one key verifies. Without a kid, each is tried.
  def test_a_kid_naming_two_keys_is_refused_as_unknown_and_refetches
    @server.reply = JwksServer.json(200, { keys: [jwk(@a1, "a1"), jwk(@b2, "a1")] })
    edge = client
    assert_nil(sub_of(edge, assertion(@a1, "a1")))
    assert_equal(["unknown kid"], @log.lines.map { |line| line["reason"] })
    assert_equal(1, @server.hits, "the fetch just made is within the cooldown")
    assert_equal("ada", sub_of(edge, assertion(@b2, nil)), "without a kid, every key is tried")

    @now += 31
    assert_nil(sub_of(edge, assertion(@b2, "a1")))
    assert_equal(2, @server.hits, "a kid naming two keys refetches")
    @server.reply = JwksServer.json(200, { keys: [jwk(@a1, "a1"), jwk(@b2, "b2")] })
    @now += 31
    assert_equal("ada", sub_of(edge, assertion(@a1, "a1")))
    assert_equal(3, @server.hits)
  end

  # Everything a fetch must not take, each with the body it would carry; the oversized
  # ones are the good JWKS, padded: only their size refuses them.
  def bad_replies
    oversized = JSON.generate({ keys: [jwk(@a1, "a1")], pad: MARKER * 6000 })
    {
      "a 500" => JwksServer.json(500, { keys: [jwk(@a1, "a1")], error: MARKER }),
      "a redirect" => JwksServer.http("302 Found", MARKER),
      "not JSON" => JwksServer.http("200 OK", "<html>#{MARKER}</html>"),
      "not a JWKS" => JwksServer.json(200, { keys: MARKER }),
      "no usable key" => JwksServer.json(200, { keys: [{ kty: "oct", k: MARKER }] }),
      "a body over 64 KiB, with its length" => JwksServer.http("200 OK", oversized),
      "a body over 64 KiB, streamed" => JwksServer.http("200 OK", oversized, length: false)
    }
  end

  def test_a_failed_fetch_is_anonymous_and_logged_and_the_cached_keys_keep_verifying
    bad_replies.each do |name, reply|
      @server.reply = reply
      fresh = client
      assert_nil(sub_of(fresh, assertion(@a1, "a1")), "#{name}, on first use: anonymous, never an exception")
      lines = @log.lines
      assert_equal(%w[edge_jwks_unavailable edge_assertion_rejected], lines.map { |l| l["event"] }, name)
      refute_includes(JSON.generate(lines), MARKER, "#{name}: the reason never quotes the body")

      @server.reply = JwksServer.json(200, { keys: [jwk(@a1, "a1")] })
      edge = client
      assert_equal("ada", sub_of(edge, assertion(@a1, "a1")), name)
      @server.reply = reply
      @now += 300
      hits = @server.hits
      assert_equal("ada", sub_of(edge, assertion(@a1, "a1")), "#{name}: the keys we had still verify")
      assert_equal(hits + 1, @server.hits, name)
      lines = @log.lines
      assert_equal(["edge_jwks_unavailable"], lines.map { |l| l["event"] }, name)
      refute_includes(JSON.generate(lines), MARKER, name)
    end
  end

  def test_a_server_down_is_anonymous_and_logged_and_the_cached_keys_keep_verifying
    edge = client
    assert_equal("ada", sub_of(edge, assertion(@a1, "a1")))
    @server.stop
    @now += 300
    assert_equal("ada", sub_of(edge, assertion(@a1, "a1")))
    @now += 31
    assert_nil(sub_of(edge, assertion(@b2, "b2")))
    lines = @log.lines
    assert_equal(%w[edge_jwks_unavailable edge_jwks_unavailable edge_assertion_rejected], lines.map { |l| l["event"] })
    assert_match(/refused/i, lines.first["reason"])
    @server = JwksServer.new # for teardown
  end

  # An edge that is down is not asked on every request: a failed fetch (a 500, or a set
  # with no usable key) starts the cooldown as a successful one does.
  def test_the_cooldown_counts_from_a_failed_fetch_too
    { "a 500" => JwksServer.json(500, { error: MARKER }),
      "no usable key" => JwksServer.json(200, { keys: [jwk(@a1, "a1", crv: "P-384")] }) }.each do |name, reply|
      @server.reply = reply
      edge = client
      hits = @server.hits
      assert_nil(sub_of(edge, assertion(@a1, "a1")), name)
      assert_equal(hits + 1, @server.hits, "#{name}: the first use fetches")
      @server.reply = JwksServer.json(200, { keys: [jwk(@a1, "a1")] })
      @now += 29
      5.times { assert_nil(sub_of(edge, assertion(@a1, "a1")), "#{name}: within 30 s of the failed attempt") }
      assert_equal(hits + 1, @server.hits, "#{name}: no fetch within the cooldown of a failed one")
      @now += 1
      assert_equal("ada", sub_of(edge, assertion(@a1, "a1")), "#{name}: 30 s after it, fetched again")
      assert_equal(hits + 2, @server.hits, name)
      assert_equal(["edge_jwks_unavailable"] + (["edge_assertion_rejected"] * 6), events, name)
    end
  end

  def test_a_body_of_exactly_64_kib_is_taken
    body = JSON.generate({ keys: [jwk(@a1, "a1")] })
    @server.reply = JwksServer.http("200 OK", body + (" " * ((64 * 1024) - body.bytesize)))
    assert_equal("ada", sub_of(client, assertion(@a1, "a1")))
    assert_empty(events)
  end

  def test_a_fetch_gives_up_after_5_seconds_even_if_the_server_drips
    # A header line every 0.5 s, never the end of the headers: no single read times out.
    @server.reply = lambda do |socket|
      socket.write("HTTP/1.1 200 OK\r\n")
      20.times do
        sleep(0.5)
        socket.write("X-Slow: #{MARKER}\r\n")
      end
    end
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    assert_nil(sub_of(client, assertion(@a1, "a1")))
    elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
    assert_operator(elapsed, :>=, 4.9)
    assert_operator(elapsed, :<, 8, "gave up after 5 s (with room for a busy machine)")
    lines = @log.lines
    assert_equal(%w[edge_jwks_unavailable edge_assertion_rejected], lines.map { |l| l["event"] })
    assert_equal("no answer within 5 s", lines.first["reason"])
  end

  def test_a_fetched_key_with_a_private_part_is_skipped
    private_jwk = jwk(@a1, "a1", d: b64u(@a1.private_key.to_s(2).rjust(32, "\0".b)))
    @server.reply = JwksServer.json(200, { keys: [private_jwk, jwk(@b2, "b2")] })
    edge = client
    assert_equal("ada", sub_of(edge, assertion(@b2, "b2")))
    assert_nil(sub_of(edge, assertion(@a1, "a1")))
  end

  # The attack: the edge's ES256 key leaked, the operator moved back to HS256, and the
  # JWKS URL now fails. A key kept through failed fetches verifies for at most 24 hours
  # after the last fetch that succeeded.
  def test_keys_kept_through_failed_fetches_verify_for_24_hours_after_the_last_good_one
    edge = client
    fetched_at = @now
    assert_equal("ada", sub_of(edge, assertion(@a1, "a1")))
    port = @server.port
    @server.stop # connection refused from now on

    @now = fetched_at + (23 * 3600) + (59 * 60)
    assert_equal("ada", sub_of(edge, assertion(@a1, "a1")), "23 h 59 min after the good fetch: still kept")
    assert_equal(["edge_jwks_unavailable"], events)
    @now = fetched_at + (24 * 3600)
    assert_equal("ada", sub_of(edge, assertion(@a1, "a1")), "24 h: at most 24 hours, so still kept")
    assert_equal(["edge_jwks_unavailable"], events)

    @now = fetched_at + (24 * 3600) + 1 # within the cooldown of the last attempt: no fetch, dropped all the same
    assert_nil(sub_of(edge, assertion(@a1, "a1")), "24 h + 1 s: dropped")
    lines = @log.lines
    assert_equal(%w[edge_jwks_unavailable edge_assertion_rejected], lines.map { |l| l["event"] })
    assert_match(/24 h/, lines.first["reason"])
    @now += 60 # a fetch is tried, and fails: still refused, the drop not logged again
    assert_nil(sub_of(edge, assertion(@a1, "a1")))
    assert_nil(sub_of(edge, assertion(@a1, nil)), "without a kid either")
    assert_equal(%w[edge_jwks_unavailable edge_assertion_rejected edge_assertion_rejected], events)

    @server = JwksServer.new(port) # the edge publishes again (for teardown too)
    @server.reply = JwksServer.json(200, { keys: [jwk(@a1, "a1")] })
    @now += 30
    assert_equal("ada", sub_of(edge, assertion(@a1, "a1")), "a fetch that succeeds restores them")
    assert_equal(1, @server.hits)
    assert_empty(events)
  end

  # Pinned by the operator, not fetched: nothing to expire.
  def test_a_static_jwks_does_not_expire
    edge = client(jwks_url: nil, jwks: { keys: [jwk(@a1, "a1")] })
    @now += 7 * 24 * 3600
    assert_equal("ada", sub_of(edge, assertion(@a1, "a1")))
    assert_empty(events)
  end

  # A 404 is the edge's answer that it publishes no JWKS (it signs HS256 again): the keys
  # held are dropped at once, whichever refetch got it.
  def test_a_404_drops_the_keys_at_once
    { "an unknown kid" => [31, @stranger, "zz"], "the 5-minute expiry" => [300, @a1, "a1"] }.each do |trigger, (wait, key, kid)|
      @server.reply = JwksServer.json(200, { keys: [jwk(@a1, "a1")] })
      edge = client
      hits = @server.hits
      assert_equal("ada", sub_of(edge, assertion(@a1, "a1")), trigger)
      assert_equal(hits + 1, @server.hits, trigger)

      @server.reply = JwksServer.http("404 Not Found", MARKER)
      @now += wait
      assert_nil(sub_of(edge, assertion(key, kid)), trigger)
      assert_equal(hits + 2, @server.hits, "#{trigger}: refetched, and got the 404")
      assert_nil(sub_of(edge, assertion(@a1, "a1")), "#{trigger}: the key that verified a moment ago is refused")
      assert_nil(sub_of(edge, assertion(@a1, nil)), "#{trigger}: without a kid too")
      lines = @log.lines
      assert_equal(%w[edge_jwks_unavailable] + (%w[edge_assertion_rejected] * 3), lines.map { |l| l["event"] }, trigger)
      assert_match(/404/, lines.first["reason"], "#{trigger}: the status is logged")
      refute_includes(JSON.generate(lines), MARKER, "#{trigger}: never the body")

      # The URL answers 200 again: after the cooldown (a 404 is an attempt too), the keys are back.
      @server.reply = JwksServer.json(200, { keys: [jwk(@a1, "a1")] })
      @now += 29
      assert_nil(sub_of(edge, assertion(@a1, "a1")), "#{trigger}: within 30 s of the 404, no fetch")
      assert_equal(hits + 2, @server.hits, trigger)
      @now += 1
      assert_equal("ada", sub_of(edge, assertion(@a1, "a1")), "#{trigger}: a 200 again restores verification")
      assert_equal(hits + 3, @server.hits, trigger)
      assert_equal(["edge_assertion_rejected"], events, trigger)
    end
  end

  # A 404 on the first use: anonymous and logged, as any failure, and not cached.
  def test_a_404_on_first_use
    @server.reply = JwksServer.http("404 Not Found", MARKER)
    edge = client
    assert_nil(sub_of(edge, assertion(@a1, "a1")))
    lines = @log.lines
    assert_equal(%w[edge_jwks_unavailable edge_assertion_rejected], lines.map { |l| l["event"] })
    assert_match(/404/, lines.first["reason"])
    @server.reply = JwksServer.json(200, { keys: [jwk(@a1, "a1")] })
    @now += 30
    assert_equal("ada", sub_of(edge, assertion(@a1, "a1")))
    assert_equal(2, @server.hits)
  end

  def test_the_jwks_url_is_https_or_http_to_loopback
    ["http://example.com/__edge/jwks.json", "http://127.0.0.1.example.com/", "http://localhost.example.com/",
     "http://10.0.0.1/__edge/jwks.json", "http://[::2]/", "http://[::ffff:8.8.8.8]/", "ftp://127.0.0.1/",
     "//127.0.0.1/x", "not a url", "https:///__edge/jwks.json"].each do |url|
      refused = assert_raises(ArgumentError, url) { client(jwks_url: url) }
      assert_includes(refused.message, "EDGE_JWKS_URL")
      refute_includes(refused.message, url, "the refusal names the rule, never the value")
    end
    ["https://app.example/__edge/jwks.json", "HTTPS://app.example/", "http://127.0.0.1:8787/__edge/jwks.json",
     "http://127.1.2.3/", "http://localhost:8787/__edge/jwks.json", "http://LOCALHOST/", "http://[::1]:8787/"].each do |url|
      client(jwks_url: url)
    end
    assert_equal(0, @server.hits)
  end

  def test_a_static_jwks_is_checked_at_construction
    d = b64u(@a1.private_key.to_s(2).rjust(32, "\0".b))
    {
      JSON.generate({ keys: [jwk(@a1, "a1", d: d)] }) => "private part",
      "{\"keys\": [#{d}" => "not JSON",
      JSON.generate([jwk(@a1, "a1")]) => "not a JWKS",
      JSON.generate({ keys: [jwk(@a1, "a1", crv: "P-384")] }) => "no usable key"
    }.each do |text, problem|
      refused = assert_raises(ArgumentError) { client(jwks_url: nil, jwks: text) }
      assert_includes(refused.message, problem)
      assert_includes(refused.message, "EDGE_JWKS")
      refute_includes(refused.message, d, "a refusal never prints a private key")
      refute_includes(refused.full_message, d, "nor does its cause")
    end
    refused = assert_raises(ArgumentError) { client(jwks: JSON.generate({ keys: [jwk(@a1, "a1")] })) }
    assert_includes(refused.message, "both set")
    refused = assert_raises(ArgumentError) { client(jwks_url: nil) }
    %w[ORIGIN_SECRET EDGE_JWKS_URL EDGE_JWKS].each { |name| assert_includes(refused.message, name) }
  end

  def test_a_verify_only_service_verifies_es256_refuses_hs256_and_cannot_sign
    VARIABLES.each { |name| ENV.delete(name) }
    ENV["EDGE_JWKS"] = JSON.generate({ keys: [jwk(@a1, "a1")] })
    edge = EdgeSession::Client.new(logger: @log, clock: -> { @now }) # from the environment, as deployed
    parsed = EdgeSession::Client.new(jwks: { keys: [jwk(@a1, "a1")] }, logger: @log, clock: -> { @now }) # a Hash
    assert_equal("ada", sub_of(edge, assertion(@a1, "a1")))
    assert_equal("ada", sub_of(parsed, assertion(@a1, "a1")))

    secret = "o1:#{"o" * 32}"
    hs256 = JWT.encode({ iss: "edge-session", aud: AUDIENCE, sub: "ada", sid: "s", state: "fresh", iat: @now,
                         exp: @now + 60 }, "o" * 32, "HS256", { typ: "JWT", kid: "o1" })
    assert_equal("ada", sub_of(client(secret: secret, jwks_url: nil), hs256), "the HS256 token is a good one")
    assert_nil(sub_of(edge, hs256))
    assert_equal([{ "event" => "edge_assertion_rejected", "reason" => "alg is not ES256" }], @log.lines)

    assert_match(/\ADIRECTIVE_SECRET is not set: this service only verifies/,
                 assert_raises(ArgumentError) { edge.login_directive("nonce", "ada") }.message)
    assert_match(/\ADIRECTIVE_SECRET is not set/, assert_raises(ArgumentError) { edge.logout_directive("nonce") }.message)
    assert_match(/\AADMIN_SECRET is not set/, assert_raises(ArgumentError) { edge.admin_token("ada", "list") }.message)
    request = edge.request(->(name) { { "X-Edge-Nonce" => "nonce" }[name] })
    assert_match(/DIRECTIVE_SECRET/, assert_raises(ArgumentError) { request.login("ada") }.message)

    # With DIRECTIVE_SECRET it logs users in, and still holds nothing that mints assertions.
    ENV["DIRECTIVE_SECRET"] = "d1:#{"d" * 32}"
    login = EdgeSession::Client.new(logger: @log, clock: -> { @now }).login_directive("nonce", "ada")
    assert_equal("d1", JSON.parse(login.split(".").first.tr("-_", "+/").unpack1("m"))["kid"])
  end

  def test_the_rack_middleware_with_only_the_jwks_url
    VARIABLES.each { |name| ENV.delete(name) }
    ENV["EDGE_JWKS_URL"] = @server.url
    app = lambda do |env|
      EdgeSession::Rack.require_user(env) || [200, {}, ["hello #{EdgeSession::Rack.edge(env).user.sub}"]]
    end
    middleware = EdgeSession::Rack::Middleware.new(app) # the client from the environment
    token = assertion(@a1, "a1", now: Time.now.to_i)
    status, _, body = middleware.call("HTTP_X_EDGE_ASSERTION" => token)
    assert_equal([200, ["hello ada"]], [status, body])
    stranger = assertion(@stranger, "a1", now: Time.now.to_i)
    _, logged = capture_io { assert_equal(401, middleware.call("HTTP_X_EDGE_ASSERTION" => stranger).first) }
    assert_includes(logged, "edge_assertion_rejected") # on stderr: no logger given
    assert_equal(1, @server.hits)
  end
end
