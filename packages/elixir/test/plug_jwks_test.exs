# EdgeSession.Plug with a verify-only configuration (EDGE_JWKS_URL, no ORIGIN_SECRET),
# through Plug.Test. Compiled only where Plug is (Hex is unreachable where `mix test`
# runs here, so it is run by hand in a project that has Plug; see the README's "What is
# tested here"). The same path without Plug is test/verify_only_test.exs's
# request_from_env/2, which the plug calls.
if Code.ensure_loaded?(Plug.Test) do
  defmodule EdgeSession.PlugJWKSTest do
    use ExUnit.Case, async: false
    import Plug.Test
    import Plug.Conn
    import ExUnit.CaptureLog

    alias EdgeSession.Test.{ES256, JWKSServer}

    @variables ~w(ORIGIN_SECRET EDGE_JWKS EDGE_JWKS_URL ORIGIN_AUDIENCE)

    setup do
      saved = for name <- @variables, into: %{}, do: {name, System.get_env(name)}

      on_exit(fn ->
        for {name, value} <- saved, do: if(value, do: System.put_env(name, value), else: System.delete_env(name))
      end)

      for name <- @variables, do: System.delete_env(name)
      :ok
    end

    defp call(headers) do
      conn = Enum.reduce(headers, conn(:get, "/api/me"), fn {name, value}, conn -> put_req_header(conn, name, value) end)
      with_log(fn -> EdgeSession.Plug.call(conn, EdgeSession.Plug.init(json: EdgeSession.JiffyJSON)) end)
    end

    test "EDGE_JWKS_URL alone: the plug assigns the ES256 identity, and refuses a forged one" do
      a1 = ES256.key("a1")
      server = JWKSServer.start({:jwks, ES256.jwks([a1])})
      System.put_env("EDGE_JWKS_URL", server.url)
      now = System.os_time(:second)

      {conn, _log} = call([{"x-edge-assertion", ES256.token(a1, now)}, {"x-edge-nonce", "n0nce"}])
      assert conn.assigns.edge_session["sub"] == "ada"
      assert conn.assigns.edge_nonce == "n0nce"

      {conn, log} = call([{"x-edge-assertion", ES256.token(ES256.key("a1"), now)}])
      assert conn.assigns.edge_session == nil
      assert log =~ "edge_assertion_rejected"

      # The edge is down: the cached key still verifies, fetched once.
      JWKSServer.stop(server)
      {conn, _log} = call([{"x-edge-assertion", ES256.token(a1, now)}])
      assert conn.assigns.edge_session["sub"] == "ada"
      assert JWKSServer.requests(server) == 1
    end
  end
end
