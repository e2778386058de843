# frozen_string_literal: true

# The bridge beside a logout on one response: a bridge in a global hook adopts before the
# logout handler runs, and the edge applies a logout, then a login. The logout must win
# over the bridge's login, whichever came first; an app's own login beside a logout is an
# account switch, and stays.
#
#   ruby -I packages/ruby/lib packages/ruby/test/adopt_logout_test.rb
require "base64"
require "json"
require "minitest/autorun"
require "edge_session"

class AdoptLogoutTest < Minitest::Test
  # An anonymous request that came through the edge.
  def anonymous_request
    client = EdgeSession::Client.new(secret: "o1:0123456789abcdef0123456789abcdef", audience: "origin")
    client.request(->(name) { name.casecmp?("X-Edge-Nonce") ? "n0nce" : nil })
  end

  def test_adopt_then_logout_leaves_only_the_logout
    request = anonymous_request
    assert request.adopt("lee")
    request.logout
    assert_equal(["X-Edge-Logout"], request.response_headers.keys.sort)
  end

  def login_claims(request)
    part = request.response_headers["X-Edge-Login"].split(".")[1]
    JSON.parse(Base64.urlsafe_decode64(part + ("=" * ((4 - (part.length % 4)) % 4))))
  end

  def test_an_adopted_login_is_never_a_recent_sign_in
    request = anonymous_request
    assert request.adopt("lee")
    assert_equal(0, login_claims(request)["auth_time"], "the old session proves nothing now")
    request = anonymous_request
    request.login("lee")
    refute login_claims(request).key?("auth_time")
  end

  def test_logout_then_adopt_does_nothing
    request = anonymous_request
    request.logout
    refute request.adopt("lee")
    assert_equal(["X-Edge-Logout"], request.response_headers.keys.sort)
  end

  def test_login_then_logout_keeps_both
    request = anonymous_request
    request.login("bob")
    request.logout
    assert_equal(%w[X-Edge-Login X-Edge-Logout], request.response_headers.keys.sort)
  end

  def test_adopt_then_login_then_logout_keeps_the_apps_login
    request = anonymous_request
    assert request.adopt("lee")
    request.login("bob")
    request.logout
    assert_equal(%w[X-Edge-Login X-Edge-Logout], request.response_headers.keys.sort)
    assert_equal("bob", sub_of(request.response_headers["X-Edge-Login"]))
  end

  # The `sub` a login directive carries.
  def sub_of(token)
    JSON.parse(Base64.urlsafe_decode64(token.split(".")[1]))["sub"]
  end
end
