# A service that only verifies identities: EDGE_JWKS or EDGE_JWKS_URL and no secret.
# Configuration from the environment (assertion_keys/0, request_from_env/2, which is
# what EdgeSession.Plug runs per request), and what it refuses at startup.
#
#   cd packages/elixir && mix test test/verify_only_test.exs
defmodule EdgeSession.VerifyOnlyTest do
  # The environment is the process's, shared with every test: not async.
  use ExUnit.Case, async: false
  import ExUnit.CaptureLog

  alias EdgeSession.Test.{ES256, JWKSServer}

  @json EdgeSession.JiffyJSON
  @now 1_700_000_000
  @opts [json: @json, now: @now]
  @variables ~w(ORIGIN_SECRET EDGE_JWKS EDGE_JWKS_URL DIRECTIVE_SECRET ADMIN_SECRET ORIGIN_AUDIENCE)
  @origin_secret String.duplicate("o", 32)

  setup do
    saved = for name <- @variables, into: %{}, do: {name, System.get_env(name)}

    on_exit(fn ->
      for {name, value} <- saved, do: if(value, do: System.put_env(name, value), else: System.delete_env(name))
    end)

    a1 = ES256.key("a1")
    %{a1: a1, jwks: :jiffy.encode(ES256.jwks([a1]))}
  end

  # Exactly these variables set (the others unset).
  defp env(vars), do: for(name <- @variables, do: if(v = vars[name], do: System.put_env(name, v), else: System.delete_env(name)))

  defp hs256(now) do
    header = ES256.b64(~s({"alg":"HS256","typ":"JWT","kid":"o1"}))

    claims =
      ES256.b64(:jiffy.encode(%{"iss" => "edge-session", "aud" => "origin", "sub" => "ada", "sid" => "s", "state" => "fresh",
                               "iat" => now, "exp" => now + 60}))

    input = header <> "." <> claims
    input <> "." <> ES256.b64(:crypto.mac(:hmac, :sha256, @origin_secret, input))
  end

  # The request as EdgeSession.Plug builds it from these headers and the environment.
  defp request(headers), do: with_log(fn -> EdgeSession.request_from_env(&headers[&1], @opts) end)

  test "EDGE_JWKS alone: ES256 verifies, HS256 is refused, and signing names the secret it needs", %{a1: a1, jwks: jwks} do
    env(%{"EDGE_JWKS" => jwks})
    keys = EdgeSession.assertion_keys(json: @json)
    assert keys.ring == nil

    {request, _log} = request(%{"x-edge-assertion" => ES256.token(a1, @now), "x-edge-nonce" => "n0nce"})
    assert request.user["sub"] == "ada"

    {request, log} = request(%{"x-edge-assertion" => hs256(@now), "x-edge-nonce" => "n0nce"})
    assert request.user == nil
    assert log =~ "edge_assertion_rejected: HS256, and no ORIGIN_SECRET is configured"

    # Verify-only constructs fine; only a call that signs says what is missing.
    directive = "DIRECTIVE_SECRET is not set (nor ORIGIN_SECRET): this service only verifies identities"
    assert_raise ArgumentError, directive, fn -> EdgeSession.directive_keys() end
    assert_raise ArgumentError, directive, fn -> EdgeSession.login_directive("ada", keys, [nonce: "n0nce"] ++ @opts) end
    assert_raise ArgumentError, directive, fn -> EdgeSession.put_login(request, "ada", keys, @opts) end
    assert_raise ArgumentError, directive, fn -> EdgeSession.put_logout(request, keys, @opts) end
    assert_raise ArgumentError, ~r/\AADMIN_SECRET is not set/, fn -> EdgeSession.admin_keys() end
    assert_raise ArgumentError, ~r/\AADMIN_SECRET is not set/, fn -> EdgeSession.admin_token("ada", :list, keys, @opts) end

    # With DIRECTIVE_SECRET, it signs logins, and still holds nothing that mints an assertion.
    env(%{"EDGE_JWKS" => jwks, "DIRECTIVE_SECRET" => "d1:" <> String.duplicate("d", 32)})
    assert EdgeSession.login_directive("ada", EdgeSession.directive_keys(), [nonce: "n0nce"] ++ @opts) =~ ~r/\A[\w-]+\.[\w-]+\.[\w-]+\z/
  end

  test "switch-over: ORIGIN_SECRET and EDGE_JWKS_URL both verify, each its own algorithm", %{a1: a1} do
    server = JWKSServer.start({:jwks, ES256.jwks([a1])})
    env(%{"ORIGIN_SECRET" => "o1:" <> @origin_secret, "EDGE_JWKS_URL" => server.url})

    for token <- [hs256(@now), ES256.token(a1, @now)] do
      {request, _log} = request(%{"x-edge-assertion" => token})
      assert request.user["sub"] == "ada"
    end

    assert JWKSServer.requests(server) == 1
    # Then ORIGIN_SECRET leaves the verify-only service: HS256 is refused.
    env(%{"EDGE_JWKS_URL" => server.url})
    assert {%{user: nil}, _log} = request(%{"x-edge-assertion" => hs256(@now)})
    assert {%{user: %{"sub" => "ada"}}, _log} = request(%{"x-edge-assertion" => ES256.token(a1, @now)})
  end

  test "none of the three: the error names all of them" do
    env(%{})
    error = assert_raise ArgumentError, fn -> EdgeSession.assertion_keys() end
    for name <- ~w(ORIGIN_SECRET EDGE_JWKS_URL EDGE_JWKS), do: assert(Exception.message(error) =~ name)
    assert_raise ArgumentError, fn -> request(%{}) end
  end

  test "EDGE_JWKS refused at startup: a private key, not JSON, not a JWKS, no usable key", %{a1: a1} do
    leaked = :jiffy.encode(%{"keys" => [ES256.jwk(a1), ES256.jwk(ES256.key("a2"), %{"d" => "s3cr3t-d"})]})

    for {text, message} <- [
          {leaked, "EDGE_JWKS key #2 has a private part (d)"},
          {"not json", "EDGE_JWKS is not JSON"},
          {~s({"kes":[]}), "EDGE_JWKS is not a JWKS"},
          {~s([]), "EDGE_JWKS is not a JWKS"},
          {~s({"keys":[{"kty":"oct","k":"AAAA"}]}), "EDGE_JWKS has no usable key"}
        ] do
      env(%{"EDGE_JWKS" => text})
      error = assert_raise ArgumentError, fn -> EdgeSession.assertion_keys(json: @json) end
      assert Exception.message(error) =~ message
      refute Exception.message(error) =~ "s3cr3t"
    end

    # The option takes the decoded map too, under the same rules.
    error = assert_raise ArgumentError, fn -> EdgeSession.assertion_keys(jwks: :jiffy.decode(leaked, [:return_maps])) end
    assert Exception.message(error) =~ "private part"
  end

  test "EDGE_JWKS_URL: refused at startup unless https or loopback http; both EDGE_JWKS and it, refused", %{jwks: jwks} do
    env(%{"EDGE_JWKS_URL" => "http://example.com/__edge/jwks.json"})
    assert_raise ArgumentError, ~r/\AEDGE_JWKS_URL must be https:/, fn -> EdgeSession.assertion_keys() end

    env(%{"EDGE_JWKS_URL" => "http://127.0.0.1:8787/__edge/jwks.json"})
    assert EdgeSession.assertion_keys().jwks_url == "http://127.0.0.1:8787/__edge/jwks.json"

    env(%{"EDGE_JWKS_URL" => "https://app.example/__edge/jwks.json", "EDGE_JWKS" => jwks})
    assert_raise ArgumentError, "EDGE_JWKS and EDGE_JWKS_URL are both set: set one", fn -> EdgeSession.assertion_keys(json: @json) end
  end

  test "an option, even nil, replaces its variable; inspecting the keys never shows the ring", %{jwks: jwks} do
    env(%{"ORIGIN_SECRET" => "o1:" <> @origin_secret, "EDGE_JWKS" => jwks})
    assert EdgeSession.assertion_keys(origin_secret: nil, json: @json).ring == nil
    assert EdgeSession.assertion_keys(jwks: nil).jwks == nil

    keys = EdgeSession.assertion_keys(json: @json)
    assert keys.ring == [{"o1", @origin_secret}]
    refute inspect(keys) =~ @origin_secret
  end
end
