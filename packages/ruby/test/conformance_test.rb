# frozen_string_literal: true

# The conformance table (packages/conformance/vectors.json), run through this gem's public
# API: one test per vector, named after it.
#
#   ruby -I packages/ruby/lib packages/ruby/test/conformance_test.rb
require "minitest/autorun"
require "json"
require "edge_session"

class ConformanceTest < Minitest::Test
  TABLE = JSON.parse(File.read(File.expand_path("../../conformance/vectors.json", __dir__), encoding: "UTF-8"))
  IDENTIFIED = TABLE["assertions"].first

  # A logger that keeps the events the gem reports.
  class Events
    attr_reader :events

    def initialize = @events = []
    def warn(line) = @events << JSON.parse(line)["event"]
  end

  # A client configured as the vector says, and no other way (the environment is never
  # read): `secret` its ORIGIN_SECRET (nil: none), `jwks` its static EDGE_JWKS (nil: none).
  def edge_at(vector, events)
    EdgeSession::Client.new(secret: vector["secret"], jwks: vector["jwks"], jwks_url: nil, directive_secret: nil, admin_secret: nil,
                            events_secret: nil, edge_url: nil, audience: vector["audience"], logger: events,
                            clock: -> { vector["now"] })
  end

  # A header reader over a plain hash (absent and nil both read as absent).
  def reader(headers)
    lowered = headers.transform_keys(&:downcase)
    ->(name) { lowered[name.downcase] }
  end

  TABLE["assertions"].each do |v|
    define_method("test_assertion: #{v["name"]}") do
      events = Events.new
      user = edge_at(v, events).identify(reader("X-Edge-Assertion" => v["token"]))
      expected = v["valid"] ? v["claims"].transform_keys(&:to_sym) : nil
      expected.nil? ? assert_nil(user) : assert_equal(expected, user&.to_h)
      # A refused token is logged, never raised (an empty header is no token at all).
      assert_equal(v["valid"] || v["token"].empty? ? [] : ["edge_assertion_rejected"], events.events)
    end
  end

  TABLE["secrets"].each do |v|
    define_method("test_secret: #{v["name"]}") do
      if v["valid"]
        refute_empty(EdgeSession.parse_keys(v["secret"]))
      else
        refused = assert_raises(ArgumentError) { EdgeSession.parse_keys(v["secret"]) }
        refute_includes(refused.message, TABLE["secret_marker"], "the refusal prints the secret")
      end
    end
  end

  TABLE["adopt"].each do |v|
    define_method("test_adopt: #{v["name"]}") do
      events = Events.new
      request = edge_at(IDENTIFIED, events).request(reader(
        "X-Edge-Assertion" => v["identified"] ? IDENTIFIED["token"] : nil,
        "X-Edge-Session-State" => v["state_header"],
        "X-Edge-Nonce" => v["nonce"]
      ))
      v["refusal"].nil? ? assert_nil(request.refusal) : assert_equal(v["refusal"], request.refusal)
      assert_equal(v["adopts"], request.adopt(v["legacy_sub"]))
      assert_equal(v["logs"] ? [v["logs"]] : [], events.events)
      if v["adopts"]
        payload = request.response_headers.fetch("X-Edge-Login").split(".")[1]
        login = JSON.parse(payload.tr("-_", "+/").unpack1("m").force_encoding(Encoding::UTF_8))
        assert_equal([v["legacy_sub"], v["nonce"]], [login["sub"], login["nonce"]])
      else
        assert_empty(request.response_headers)
      end
    end
  end

  TABLE["events"].each do |v|
    define_method("test_event: #{v["name"]}") do
      # The function, and the method of a client whose events_secret it is (its own ring); a
      # queue message with the queue option, a webhook's body without it.
      client = EdgeSession::Client.new(secret: IDENTIFIED["secret"], events_secret: v["secret"], audience: v["audience"],
                                       clock: -> { v["now"] })
      queue = v["queue"]
      [-> { EdgeSession.parse_event(v["body"], secret: v["secret"], audience: v["audience"], now: v["now"], queue: queue) },
       -> { client.parse_event(v["body"], queue: queue) }, -> { client.parse_event(v["body"].b, queue: queue) }].each do |parse|
        if v["valid"]
          assert_equal(v["event"], parse.call)
        else
          refused = assert_raises(EdgeSession::AssertionRefused) { parse.call }
          refute_includes(refused.message, TABLE["secret_marker"], "the refusal prints the secret")
        end
      end
    end
  end

  TABLE["user_header"].each do |v|
    define_method("test_user_header: #{v["header"].inspect}") do
      assert_equal(v["sub"], EdgeSession.decode_user(v["header"]))
    end
  end
end
