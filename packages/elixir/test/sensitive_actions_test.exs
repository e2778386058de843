# Sensitive actions (issue 20): a secret per job (directive_keys/0: DIRECTIVE_SECRET signs
# logins and logouts; admin_keys/0: ADMIN_SECRET signs admin tokens; each ORIGIN_SECRET
# when unset), a login's `amr`, auth_time and amr in the claims, and signed_in_within?/3
# (what EdgeSession.Plug.require_recent_auth/2 asks).
#
#   cd packages/elixir && mix test test/sensitive_actions_test.exs
defmodule EdgeSession.SensitiveActionsTest do
  # The environment is the process's, shared with every test: not async.
  use ExUnit.Case, async: false

  @json EdgeSession.JiffyJSON
  @now 1_700_000_000
  @opts [json: EdgeSession.JiffyJSON, now: @now]
  @origin "o1:" <> String.duplicate("o", 32)
  @directive "d2:" <> String.duplicate("d", 32) <> ",d1:" <> String.duplicate("e", 32)
  @admin "a1:" <> String.duplicate("a", 32)
  @sid "AQEBAQEBAQEBAQEBAQEBAQ"
  @variables ~w(ORIGIN_SECRET DIRECTIVE_SECRET ADMIN_SECRET)

  setup do
    saved = for name <- @variables, into: %{}, do: {name, System.get_env(name)}

    on_exit(fn ->
      for {name, value} <- saved, do: if(value, do: System.put_env(name, value), else: System.delete_env(name))
    end)

    :ok
  end

  # Exactly these variables set (the others unset).
  defp env(vars), do: for(name <- @variables, do: if(v = vars[name], do: System.put_env(name, v), else: System.delete_env(name)))

  defp part(jws, index) do
    {:ok, value} = jws |> String.split(".") |> Enum.at(index) |> Base.url_decode64!(padding: false) |> @json.decode()
    value
  end

  # Whether `jws` carries a MAC of the key its kid names in `ring` (a kid:secret text).
  defp verifies?(jws, ring) do
    [h64, p64, mac] = String.split(jws, ".")
    key = ring |> EdgeSession.parse_keys() |> Map.new() |> Map.get(part(jws, 0)["kid"])
    key != nil and :crypto.mac(:hmac, :sha256, key, h64 <> "." <> p64) == Base.url_decode64!(mac, padding: false)
  end

  # Every token signed for a login or a logout, with `keys`.
  defp directives(keys) do
    anonymous = EdgeSession.request(&if(&1 == "x-edge-nonce", do: "n0nce"), EdgeSession.parse_keys(@origin), @opts)
    request = anonymous |> EdgeSession.put_login("ada", keys, @opts) |> EdgeSession.put_logout(keys, [scope: "everywhere", sub: "ada"] ++ @opts)
    {true, adopted} = EdgeSession.put_adopt(anonymous, "lee", keys, @opts)

    [
      EdgeSession.login_directive("ada", keys, [nonce: "n0nce", amr: ["pwd"]] ++ @opts),
      EdgeSession.logout_directive(keys, [nonce: "n0nce"] ++ @opts),
      EdgeSession.adopt(anonymous, "lee", keys, @opts)
      | for({_, value} <- request.resp_headers ++ adopted.resp_headers, do: value)
    ]
  end

  defp admin_tokens(keys) do
    for {act, opts} <- [list: [], revoke: [sid: @sid], revoke_all: [except: @sid]],
        do: EdgeSession.admin_token("ada", act, keys, opts ++ @opts)
  end

  test "with DIRECTIVE_SECRET and ADMIN_SECRET set, each signs its own job" do
    env(%{"ORIGIN_SECRET" => @origin, "DIRECTIVE_SECRET" => @directive, "ADMIN_SECRET" => @admin})
    tokens = directives(EdgeSession.directive_keys())
    assert length(tokens) == 6

    for jws <- tokens do
      assert part(jws, 0)["kid"] == "d2", "the directive ring's first key signs"
      assert verifies?(jws, @directive)
      refute verifies?(jws, @origin)
      refute verifies?(jws, @admin)
    end

    for jws <- admin_tokens(EdgeSession.admin_keys()) do
      assert part(jws, 0)["kid"] == "a1"
      assert verifies?(jws, @admin)
      refute verifies?(jws, @origin)
      refute verifies?(jws, @directive)
    end
  end

  test "unset or empty, ORIGIN_SECRET signs both, as before; each alone leaves the other on it" do
    origin = EdgeSession.parse_keys(@origin)

    for vars <- [%{}, %{"DIRECTIVE_SECRET" => "", "ADMIN_SECRET" => ""}] do
      env(Map.put(vars, "ORIGIN_SECRET", @origin))
      assert EdgeSession.directive_keys() == origin
      assert EdgeSession.admin_keys() == origin
      for jws <- directives(EdgeSession.directive_keys()) ++ admin_tokens(EdgeSession.admin_keys()), do: assert(verifies?(jws, @origin))
    end

    env(%{"ORIGIN_SECRET" => @origin, "DIRECTIVE_SECRET" => @directive})
    assert {EdgeSession.directive_keys(), EdgeSession.admin_keys()} == {EdgeSession.parse_keys(@directive), origin}
    env(%{"ORIGIN_SECRET" => @origin, "ADMIN_SECRET" => @admin})
    assert {EdgeSession.directive_keys(), EdgeSession.admin_keys()} == {origin, EdgeSession.parse_keys(@admin)}
  end

  test "a malformed ring raises, naming its variable and never the secret" do
    for name <- ~w(DIRECTIVE_SECRET ADMIN_SECRET), bad <- ["d1:s3cr3t", "s3cr3t" <> String.duplicate("x", 40)] do
      env(%{"ORIGIN_SECRET" => @origin, name => bad})
      keys = if name == "DIRECTIVE_SECRET", do: &EdgeSession.directive_keys/0, else: &EdgeSession.admin_keys/0
      refused = assert_raise ArgumentError, fn -> keys.() end
      assert Exception.message(refused) =~ ~r/\A#{name} /
      refute Exception.message(refused) =~ "s3cr3t"
    end

    # Nothing to sign with (a verify-only service): the call names the variable it needs.
    env(%{})
    assert_raise ArgumentError, "DIRECTIVE_SECRET is not set (nor ORIGIN_SECRET): this service only verifies identities", fn ->
      EdgeSession.directive_keys()
    end

    assert_raise ArgumentError, ~r/\AADMIN_SECRET is not set/, fn -> EdgeSession.admin_keys() end
  end

  test "a login with amr" do
    keys = EdgeSession.parse_keys(@origin)
    login = &EdgeSession.login_directive("ada", keys, [nonce: "n0nce", amr: &1] ++ @opts)

    for amr <- [["pwd"], ["pwd", "otp"], [String.duplicate("x", 16)], ["urn:a.b_c-1"], List.duplicate("mfa", 8)],
        do: assert(part(login.(amr), 1)["amr"] == amr)

    refute Map.has_key?(part(EdgeSession.login_directive("ada", keys, [nonce: "n0nce"] ++ @opts), 1), "amr")
    request = EdgeSession.request(&if(&1 == "x-edge-nonce", do: "n0nce"), keys, @opts)
    [{"x-edge-login", put}] = EdgeSession.put_login(request, "ada", keys, [amr: ["otp"]] ++ @opts).resp_headers
    assert part(put, 1)["amr"] == ["otp"]

    for bad <- ["pwd", [], [1], ["a b"], [String.duplicate("x", 17)], List.duplicate("a", 9), [""], [:pwd], ["pwé"], ["pwd\n"], %{}] do
      assert_raise ArgumentError, "amr must be 1 to 8 names of [A-Za-z0-9_.:-]{1,16}", fn -> login.(bad) end
      assert_raise ArgumentError, fn -> EdgeSession.put_login(request, "ada", keys, [amr: bad] ++ @opts) end
    end
  end

  # An assertion as the edge signs one, at @now, with `claims`; verified.
  defp claims(extra) do
    [{kid, key} | _] = keys = EdgeSession.parse_keys(@origin)
    b64 = &Base.url_encode64(&1, padding: false)
    payload = Map.merge(%{"iss" => "edge-session", "aud" => "origin", "sub" => "ada", "sid" => @sid, "state" => "fresh",
                          "iat" => @now, "exp" => @now + 60}, extra)
    input = b64.(@json.encode!(%{"alg" => "HS256", "typ" => "JWT", "kid" => kid})) <> "." <> b64.(@json.encode!(payload))
    EdgeSession.verify_assertion(input <> "." <> b64.(:crypto.mac(:hmac, :sha256, key, input)), keys, @opts)
  end

  test "auth_time (whole seconds) and amr in the claims" do
    assert %{"auth_time" => 1_699_999_939, "amr" => ["pwd", "otp"]} = claims(%{"auth_time" => @now - 60.5, "amr" => ["pwd", "otp"]})
    assert claims(%{})["auth_time"] == nil
    assert claims(%{"auth_time" => "1700000000"}) == nil
    assert claims(%{"amr" => "pwd"}) == nil
  end

  test "signed_in_within?: auth_time recent, and no context change since" do
    within = fn extra, max_age -> EdgeSession.signed_in_within?(claims(extra), max_age, now: @now) end
    assert within.(%{"auth_time" => @now}, 600)
    assert within.(%{"auth_time" => @now - 600, "amr" => ["pwd"]}, 600)
    assert within.(%{"auth_time" => @now + 5}, 600)
    refute within.(%{"auth_time" => @now - 601}, 600)
    assert within.(%{"auth_time" => @now - 601}, 601)
    refute within.(%{}, 600), "no auth_time (an older edge)"
    refute within.(%{"auth_time" => nil}, 600)
    # A context change after the login: sign in again. At or before it: fine.
    refute within.(%{"auth_time" => @now - 60, "context_changed" => @now - 59}, 600)
    assert within.(%{"auth_time" => @now - 60, "context_changed" => @now - 60}, 600)
    assert within.(%{"auth_time" => @now - 60, "context_changed" => @now - 3600}, 600)
    refute EdgeSession.signed_in_within?(nil, 600, now: @now)
    # The clock's default is the system's: an auth_time of the table's time is long past.
    refute EdgeSession.signed_in_within?(claims(%{"auth_time" => @now}), 600)
  end

  test "signed_in_within?: an auth_time more than 30 s ahead of the clock is no proof" do
    within = fn auth_time, max_age ->
      # The assertion itself verifies: only signed_in_within? refuses it.
      assert %{"auth_time" => ^auth_time} = verified = claims(%{"auth_time" => auth_time})
      EdgeSession.signed_in_within?(verified, max_age, now: @now)
    end

    # 30 s of clock skew, as for the assertion's iat: still recent.
    assert within.(@now + 30, 600)
    # Beyond it, refused, whatever max_age: an origin whose clock lags an hour would
    # otherwise count this sign-in as recent for an hour more than max_age.
    refute within.(@now + 31, 600)
    refute within.(@now + 3600, 600)
    refute within.(@now + 3600, 86_400)
  end
end
