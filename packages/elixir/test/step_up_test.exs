# The step-up directive (`X-Edge-Step-Up`): "the user of this session just proved who they
# are again". Each header is checked here independently of the package: the MAC computed
# with OTP's :crypto over header.payload, the parts decoded with Base and :jiffy.
#
#   cd packages/elixir && mix test test/step_up_test.exs
defmodule EdgeSession.StepUpTest do
  use ExUnit.Case, async: true

  @now 1_700_000_000
  @opts [json: EdgeSession.JiffyJSON, now: @now]
  # DIRECTIVE_SECRET's ring: the first key signs.
  @ring "d2:" <> String.duplicate("d", 32) <> ",d1:" <> String.duplicate("e", 32)
  @nonce "AAAAAAAAAAAAAAAAAAAAAA"
  @sid "AQEBAQEBAQEBAQEBAQEBAQ"

  defp keys, do: EdgeSession.parse_keys(@ring, "DIRECTIVE_SECRET")

  # A request as the edge forwards it: `user` the verified claims (or nil), and its nonce.
  defp request(user), do: %EdgeSession.Request{user: user, nonce: @nonce}

  # The header and claims of `jws` if its MAC is HMAC-SHA256 with `secret` over
  # header.payload, computed here; else a failed match.
  defp open!(jws, secret) do
    [h64, p64, mac64] = String.split(jws, ".")
    assert Base.url_decode64!(mac64, padding: false) == :crypto.mac(:hmac, :sha256, secret, h64 <> "." <> p64)
    decode = &:jiffy.decode(Base.url_decode64!(&1, padding: false), [:return_maps])
    {decode.(h64), decode.(p64)}
  end

  test "step_up_directive/3 signs an edge-step-up+jwt for the user, with the request's nonce and amr" do
    jws = EdgeSession.step_up_directive("zoë", keys(), [nonce: @nonce, amr: ["pwd", "otp"]] ++ @opts)
    {header, claims} = open!(jws, String.duplicate("d", 32))

    assert header == %{"alg" => "HS256", "typ" => "edge-step-up+jwt", "kid" => "d2"}
    assert %{"aud" => "edge-session", "sub" => "zoë", "nonce" => @nonce, "amr" => ["pwd", "otp"]} = claims
    assert claims["iat"] == @now and claims["exp"] > claims["iat"]
    # As a login's: the same lifetime (120 s), within the edge's 5 minutes.
    assert claims["exp"] - claims["iat"] == 120
    refute Map.has_key?(claims, "remember"), "a step-up is not a login"
  end

  test "put_step_up/3 signs for the request's user and puts the header on its response" do
    user = %{"sub" => "ada", "sid" => @sid, "state" => "fresh", "auth_time" => @now - 3600}
    answered = EdgeSession.put_step_up(request(user), keys(), [amr: ["pwd"]] ++ @opts)

    assert [{"x-edge-step-up", jws}] = answered.resp_headers
    assert EdgeSession.step_up_header() == "x-edge-step-up"
    {header, claims} = open!(jws, String.duplicate("d", 32))
    assert header["typ"] == "edge-step-up+jwt"
    assert [claims["sub"], claims["nonce"], claims["amr"]] == ["ada", @nonce, ["pwd"]]
    assert claims["exp"] > claims["iat"]

    # Without amr: none is claimed (the edge keeps none).
    [{_name, bare_jws}] = EdgeSession.put_step_up(request(user), keys(), @opts).resp_headers
    {_header, bare} = open!(bare_jws, String.duplicate("d", 32))
    refute Map.has_key?(bare, "amr")
  end

  test "on an anonymous request, put_step_up/3 raises and signs nothing" do
    anonymous = request(nil)
    assert_raise ArgumentError, ~r/signed-in request/, fn -> EdgeSession.put_step_up(anonymous, keys(), @opts) end
    assert anonymous.resp_headers == []
  end

  test "a bad amr raises, as a login's does" do
    user = %{"sub" => "ada", "sid" => @sid, "state" => "fresh"}

    for amr <- [[], ["has space"], [String.duplicate("a", 17)], List.duplicate("pwd", 9), [:pwd], "pwd"] do
      assert_raise ArgumentError, ~r/amr must be 1 to 8 names/, fn ->
        EdgeSession.put_step_up(request(user), keys(), [amr: amr] ++ @opts)
      end

      assert_raise ArgumentError, ~r/amr must be 1 to 8 names/, fn ->
        EdgeSession.step_up_directive("ada", keys(), [nonce: @nonce, amr: amr] ++ @opts)
      end
    end
  end

  test "a step-up needs a sub and a nonce" do
    assert_raise ArgumentError, ~r/non-empty sub/, fn -> EdgeSession.step_up_directive("", keys(), [nonce: @nonce] ++ @opts) end
    assert_raise ArgumentError, ~r/nonce/, fn -> EdgeSession.step_up_directive("ada", keys(), @opts) end
    # A request that did not come through the edge has no nonce to answer.
    no_nonce = %EdgeSession.Request{user: %{"sub" => "ada", "sid" => @sid, "state" => "fresh"}}
    assert_raise ArgumentError, ~r/nonce/, fn -> EdgeSession.put_step_up(no_nonce, keys(), @opts) end
  end

  test "a verify-only service's step-up names DIRECTIVE_SECRET" do
    verify_only = EdgeSession.assertion_keys(origin_secret: nil, jwks_url: "https://app.example/__edge/jwks.json", jwks: nil)

    assert_raise ArgumentError, ~r/DIRECTIVE_SECRET is not set/, fn ->
      EdgeSession.step_up_directive("ada", verify_only, [nonce: @nonce] ++ @opts)
    end
  end
end
