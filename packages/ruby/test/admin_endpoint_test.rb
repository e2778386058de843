# frozen_string_literal: true

# Where the admin client sends its bearer token: to {EDGE_URL}/__edge/admin and nowhere
# else. URI.join kept a query or credentials in EDGE_URL and dropped a path without a
# word; an EDGE_URL that is not http(s)://host[:port] is refused now, at construction,
# without echoing the value (swapped arguments would log ORIGIN_SECRET). Net::HTTP follows
# no redirect: a 3xx is an AdminError, and the token does not reach where it points.
#
#   ruby -I packages/ruby/lib packages/ruby/test/admin_endpoint_test.rb
require "json"
require "minitest/autorun"
require "socket"
require "edge_session"

class AdminEndpointTest < Minitest::Test
  SECRET = "o1:0123456789abcdef0123456789abcdef"
  RULE = %r{\AEDGE_URL \(edge_url:\) must be http\(s\)://host\[:port\], with no path, query, fragment or credentials: }
  # The Rust crate's rule (packages/rust/src/client.rs, admin_endpoint), and its test's cases.
  NOT_EDGE_URLS = [
    "app.example.com", "localhost:8787", "ftp://app.example.com", "http://", "http:///__edge/admin",
    "https://app.example.com/base", "https://app.example.com/base/", "https://app.example.com/__edge/admin",
    "https://app.example.com/?x=1", "https://app.example.com/?", "https://app.example.com?x=1",
    "https://app.example.com/#x", "https://app.example.com#", "https://user:pw@app.example.com",
    "https://user@app.example.com", "https://app.example.com:port", "http://app.example.com\\base",
    "http://app.example.com /base", "http://app.example.com\n", SECRET
  ].freeze

  def client(edge_url) = EdgeSession::Client.new(secret: SECRET, edge_url: edge_url)

  # A local server answering POST /__edge/admin with `status` (a 3xx to /elsewhere) and
  # anything else with 200; yields its URL, and returns [method, path] of every request.
  def recording(status)
    server = TCPServer.new("127.0.0.1", 0)
    seen = Queue.new
    thread = Thread.new do
      loop do
        socket = server.accept
        method, path = socket.gets.to_s.split(" ", 3)
        nil while (line = socket.gets) && line != "\r\n"
        seen << [method, path]
        answer = path == "/__edge/admin" ? status : 200
        data = JSON.generate(answer == 200 ? { revoked: 1, pending: 0 } : {})
        location = (300..399).cover?(answer) ? "Location: /elsewhere\r\n" : ""
        socket.write("HTTP/1.1 #{answer} X\r\n#{location}Content-Type: application/json\r\n" \
                     "Content-Length: #{data.bytesize}\r\nConnection: close\r\n\r\n#{data}")
        socket.close
      end
    end
    yield "http://127.0.0.1:#{server.addr[1]}"
    Array.new(seen.size) { seen.pop }
  ensure
    thread&.kill
    server&.close
  end

  def test_the_token_goes_to_the_admin_path_of_a_bare_edge_url
    ["", "/"].each do |suffix|
      seen = recording(200) do |url|
        assert_equal({ "revoked" => 1, "pending" => 0 }, client(url + suffix).revoke_all("ada"))
      end
      assert_equal([%w[POST /__edge/admin]], seen)
    end
  end

  def test_an_edge_url_with_a_path_query_or_credentials_is_refused_at_construction
    NOT_EDGE_URLS.each do |bad|
      error = assert_raises(ArgumentError, bad.inspect) { client(bad) }
      assert_match(RULE, error.message, bad.inspect)
    end
    saved = ENV.fetch("EDGE_URL", nil)
    ENV["EDGE_URL"] = "https://app.example.com/base"
    assert_match(/it has a path\z/, assert_raises(ArgumentError) { EdgeSession::Client.new(secret: SECRET) }.message)
  ensure
    ENV["EDGE_URL"] = saved
  end

  def test_the_refusal_names_the_rule_never_the_value
    # Client.new(secret:, edge_url:) with the two swapped: the secret is the URL.
    error = assert_raises(ArgumentError) { client(SECRET) }
    refute_includes([error.message, error.inspect, error.cause&.message].join, "0123456789abcdef")
    {
      "ftp://app.example.com" => "the scheme is not http or https", "https://user:pw@app.example.com" => "it has credentials",
      "https://app.example.com/base" => "it has a path", "https://app.example.com/?x=1" => "it has a query",
      "https://app.example.com/#x" => "it has a fragment", "http://app.example.com\\base" => "it is not a URL"
    }.each do |bad, rule|
      error = assert_raises(ArgumentError) { client(bad) }
      assert error.message.end_with?(": #{rule}"), error.message
      refute_includes([error.message, error.cause&.message].join, "example")
    end
  end

  def test_an_unset_edge_url_is_still_refused_at_the_call
    [nil, ""].each do |unset|
      error = assert_raises(ArgumentError) { client(unset).list_sessions("ada") }
      assert_match(/is not set/, error.message)
    end
  end

  def test_a_redirect_is_an_admin_error_and_is_not_followed
    [301, 302, 303, 307, 308].each do |status|
      seen = recording(status) do |url|
        error = assert_raises(EdgeSession::AdminError) { client(url).revoke_all("ada") }
        assert_equal(status, error.status)
      end
      assert_equal([%w[POST /__edge/admin]], seen, status)
    end
  end
end
