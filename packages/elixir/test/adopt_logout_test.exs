# The bridge beside a logout on one response: a bridge in a global hook adopts before the
# logout handler runs, and the edge applies a logout, then a login. The logout must win
# over the bridge's login, whichever came first; an app's own login beside a logout is an
# account switch, and stays.
#
#   cd packages/elixir && mix test test/adopt_logout_test.exs
defmodule EdgeSession.AdoptLogoutTest do
  use ExUnit.Case, async: true

  @keys EdgeSession.parse_keys("o1:0123456789abcdef0123456789abcdef")

  # An anonymous request that came through the edge.
  defp anonymous_request do
    EdgeSession.request(&if(&1 == "x-edge-nonce", do: "n0nce"), @keys, json: EdgeSession.JiffyJSON)
  end

  defp names(request), do: request.resp_headers |> Enum.map(&elem(&1, 0)) |> Enum.sort()

  test "adopt, then logout: only the logout is on the response" do
    {true, request} = EdgeSession.put_adopt(anonymous_request(), "lee", @keys, json: EdgeSession.JiffyJSON)
    request = EdgeSession.put_logout(request, @keys, json: EdgeSession.JiffyJSON)
    assert names(request) == ["x-edge-logout"]
  end

  test "an adopted login is never a recent sign-in: auth_time 0" do
    {true, request} = EdgeSession.put_adopt(anonymous_request(), "lee", @keys, json: EdgeSession.JiffyJSON)
    {_, login} = Enum.find(request.resp_headers, &(elem(&1, 0) == "x-edge-login"))
    payload = login |> String.split(".") |> Enum.at(1) |> Base.url_decode64!(padding: false)
    assert payload =~ ~s("auth_time":0)
  end

  test "logout, then adopt: adopt does nothing and returns false" do
    request = EdgeSession.put_logout(anonymous_request(), @keys, json: EdgeSession.JiffyJSON)
    assert {false, request} = EdgeSession.put_adopt(request, "lee", @keys, json: EdgeSession.JiffyJSON)
    assert EdgeSession.adopt(request, "lee", @keys, json: EdgeSession.JiffyJSON) == nil
    assert names(request) == ["x-edge-logout"]
  end

  test "login, then logout: both stay (an account switch)" do
    request = EdgeSession.put_login(anonymous_request(), "bob", @keys, json: EdgeSession.JiffyJSON)
    request = EdgeSession.put_logout(request, @keys, json: EdgeSession.JiffyJSON)
    assert names(request) == ["x-edge-login", "x-edge-logout"]
  end

  test "adopt, then the app's own login, then logout: the app's login stays (an account switch)" do
    {true, request} = EdgeSession.put_adopt(anonymous_request(), "lee", @keys, json: EdgeSession.JiffyJSON)
    request = EdgeSession.put_login(request, "bob", @keys, json: EdgeSession.JiffyJSON)
    request = EdgeSession.put_logout(request, @keys, json: EdgeSession.JiffyJSON)
    assert names(request) == ["x-edge-login", "x-edge-logout"]
    assert sub_of(List.keyfind(request.resp_headers, "x-edge-login", 0)) == "bob"
  end

  # The `sub` a login directive carries.
  defp sub_of({_name, token}) do
    {:ok, claims} = token |> String.split(".") |> Enum.at(1) |> Base.url_decode64!(padding: false) |> EdgeSession.JiffyJSON.decode()
    claims["sub"]
  end
end
