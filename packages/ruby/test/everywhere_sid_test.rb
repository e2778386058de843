# frozen_string_literal: true

# "Log out everywhere" without a sub, and a revocation of something that is not a session
# id: both used to be signed and sent, and refused by the edge where the app never saw it
# (`directive_rejected`) or in words that blame the secret (`401 invalid token`). Both are
# now refused here, by name; and a request's own logout fills in its user.
#
#   ruby -I packages/ruby/lib packages/ruby/test/everywhere_sid_test.rb
require "base64"
require "json"
require "minitest/autorun"
require "socket"
require "edge_session"

class EverywhereSidTest < Minitest::Test
  TABLE = JSON.parse(File.read(File.expand_path("../../conformance/vectors.json", __dir__), encoding: "UTF-8"))
  # A valid assertion (for "alice"), its ring, audience and time.
  IDENTIFIED = TABLE["assertions"].find { |v| v["valid"] }

  # The edge's FamilyId::parse: 22 characters of canonical base64url (the last one carries
  # 2 bits and 4 zero bits: A, Q, g or w). The Node and Rust tests check the same lists.
  SIDS = %w[AAAAAAAAAAAAAAAAAAAAAA BwcHBwcHBwcHBwcHBwcHBw _____________________w Zm9yLWNvbmZvcm1hbmNl-Q
            AQEBAQEBAQEBAQEBAQEBAg].freeze
  NOT_SIDS = [
    "bogus", "", "AAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAB", "AAAAAAAAAAAAAAAAAAAAA_",
    "AAAAAAAAAAAAAAAAAAAAAA==", "AAAAAAAAAAAAAAAAAAAA+A", "AAAAAAAAAAAAAAAAAAAA/A", "AAAAAAAAAAAAAAAAAAAA A",
    "AAAAAAAAAAAAAAAAAAAAAA\n", "AAAAAAAAAAAAAAAAAAAAAé", "Zm9yLWNvbmZvcm1hbmNlLXRlc3Rz"
  ].freeze

  def client(edge_url: nil)
    EdgeSession::Client.new(secret: IDENTIFIED["secret"], audience: IDENTIFIED["audience"], edge_url: edge_url,
                            logger: Class.new { def warn(_line) = nil }.new, clock: -> { IDENTIFIED["now"] })
  end

  # A request through the edge, identified by the vector's assertion or anonymous.
  def request(signed_in:)
    headers = { "X-Edge-Nonce" => "n0nce", "X-Edge-Assertion" => (IDENTIFIED["token"] if signed_in) }
    client.request(->(name) { headers[name] })
  end

  def part(jws, index) = JSON.parse(Base64.urlsafe_decode64(jws.split(".")[index]))

  def test_logout_directive_refuses_everywhere_without_a_sub
    [nil, ""].each do |sub|
      error = assert_raises(ArgumentError) { client.logout_directive("n0nce", scope: "everywhere", sub: sub) }
      assert_equal("scope everywhere needs sub", error.message)
    end
  end

  def test_a_valid_logout_directive_looks_as_before
    now = IDENTIFIED["now"]
    everywhere = client.logout_directive("n0nce", scope: "everywhere", sub: "ada")
    assert_equal({ "alg" => "HS256", "typ" => "edge-logout+jwt", "kid" => "o2" }, part(everywhere, 0))
    assert_equal({ "aud" => "edge-session", "iat" => now, "exp" => now + 120, "scope" => "everywhere",
                   "nonce" => "n0nce", "sub" => "ada" }, part(everywhere, 1))
    session = client.logout_directive("n0nce")
    assert_equal({ "aud" => "edge-session", "iat" => now, "exp" => now + 120, "scope" => "session",
                   "nonce" => "n0nce" }, part(session, 1))
  end

  def test_a_signed_in_requests_logout_everywhere_ends_every_session_of_its_user
    edge = request(signed_in: true)
    assert_equal("alice", edge.user.sub)
    edge.logout(scope: "everywhere")
    claims = part(edge.response_headers["X-Edge-Logout"], 1)
    assert_equal(%w[everywhere alice], claims.values_at("scope", "sub"))
  end

  def test_an_explicit_sub_is_kept_and_a_session_logout_carries_none
    edge = request(signed_in: true)
    edge.logout(scope: "everywhere", sub: "bob")
    assert_equal("bob", part(edge.response_headers["X-Edge-Logout"], 1)["sub"])
    edge.logout
    refute part(edge.response_headers["X-Edge-Logout"], 1).key?("sub")
  end

  def test_an_anonymous_requests_logout_everywhere_without_sub_raises_and_sets_nothing
    edge = request(signed_in: false)
    error = assert_raises(ArgumentError) { edge.logout(scope: "everywhere") }
    assert_equal("scope everywhere needs sub", error.message)
    assert_empty(edge.response_headers)
  end

  def test_admin_token_takes_exactly_the_edges_session_ids
    SIDS.each do |sid|
      assert_equal(sid, Base64.urlsafe_encode64(Base64.urlsafe_decode64(sid), padding: false), "canonical")
      assert_equal(sid, part(client.admin_token("ada", "revoke", sid: sid), 1)["sid"])
      assert_equal(sid, part(client.admin_token("ada", "revoke_all", except: sid), 1)["except"])
    end
    [*NOT_SIDS, 7].each do |bad|
      error = assert_raises(ArgumentError) { client.admin_token("ada", "revoke", sid: bad) }
      assert_equal("not a session id: #{bad.inspect}", error.message)
      error = assert_raises(ArgumentError) { client.admin_token("ada", "revoke_all", except: bad) }
      assert_equal("not a session id: #{bad.inspect}", error.message)
    end
    assert_raises(ArgumentError) { client.admin_token("ada", "revoke") }
    refute part(client.admin_token("ada", "revoke_all"), 1).key?("except")
  end

  # An edge admin API on a local port answering `status` and `body` to every POST; yields
  # its URL, and returns the bearer tokens it was sent.
  def edge_answering(status, body)
    server = TCPServer.new("127.0.0.1", 0)
    tokens = []
    thread = Thread.new do
      loop do
        socket = server.accept
        head = []
        while (line = socket.gets) && line != "\r\n"
          head << line
        end
        tokens << head.grep(/\Aauthorization:/i).first.to_s.split(" ", 3)[2].to_s.strip
        data = JSON.generate(body)
        socket.write("HTTP/1.1 #{status} X\r\nContent-Type: application/json\r\nContent-Length: #{data.bytesize}\r\n" \
                     "Connection: close\r\n\r\n#{data}")
        socket.close
      end
    end
    yield "http://127.0.0.1:#{server.addr[1]}"
    tokens
  ensure
    thread&.kill
    server&.close
  end

  def test_revoke_refuses_a_malformed_id_before_any_call
    tokens = edge_answering(200, { revoked: 1, pending: 0 }) do |url|
      error = assert_raises(ArgumentError) { client(edge_url: url).revoke_session("ada", "bogus") }
      assert_equal('not a session id: "bogus"', error.message)
      error = assert_raises(ArgumentError) { client(edge_url: url).revoke_all("ada", except: "bogus") }
      assert_equal('not a session id: "bogus"', error.message)
    end
    assert_empty(tokens)
  end

  def test_the_admin_clients_answers
    session = { "sid" => SIDS[1], "created_at" => 1_700_000_000, "last_seen" => 1_700_000_060, "remember" => true,
                "device_bound" => false, "user_agent" => "curl/8", "country" => nil }
    tokens = edge_answering(200, { sub: "ada", sessions: [session] }) do |url|
      assert_equal([session], client(edge_url: url).list_sessions("ada"))
    end
    assert_equal("list", part(tokens.first, 1)["act"])
    tokens = edge_answering(200, { revoked: 1, pending: 0 }) do |url|
      assert_equal({ "revoked" => 1, "pending" => 0 }, client(edge_url: url).revoke_session("ada", SIDS[1]))
    end
    assert_equal(SIDS[1], part(tokens.first, 1)["sid"])
    unknown = { "error" => "no such session for this user", "revoked" => 0, "pending" => 0 }
    edge_answering(404, unknown) do |url|
      error = assert_raises(EdgeSession::AdminError) { client(edge_url: url).revoke_session("ada", SIDS[2]) }
      assert_equal([404, unknown], [error.status, error.body])
    end
  end
end
