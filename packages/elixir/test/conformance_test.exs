# The conformance table (packages/conformance/vectors.json), run through this package's
# public API: one test per vector, named after it.
#
#   cd packages/elixir && mix test
defmodule EdgeSession.ConformanceTest do
  use ExUnit.Case, async: true
  import ExUnit.CaptureLog

  @vectors Path.expand("../../conformance/vectors.json", __DIR__)
  @external_resource @vectors
  {:ok, table} = @vectors |> File.read!() |> EdgeSession.JiffyJSON.decode()
  @table table
  @identified hd(table["assertions"])

  defp opts(vector), do: [audience: vector["audience"], now: vector["now"], json: EdgeSession.JiffyJSON]

  defp identity(nil), do: nil
  defp identity(claims), do: Map.new(~w(sub sid state ctx context_changed auth_time amr), &{&1, claims[&1]})

  # `secret` null: no ORIGIN_SECRET; `jwks` non-null: that JWKS as EDGE_JWKS (the `jwks:`
  # option). Every option is given, so the environment plays no part. Every vector's
  # configuration is valid (a static JWKS always holds a usable key): construction must
  # succeed, so a raise here fails the vector.
  defp configure(v),
    do: EdgeSession.assertion_keys(origin_secret: v["secret"], jwks: v["jwks"], jwks_url: nil, json: EdgeSession.JiffyJSON)

  for v <- table["assertions"] do
    @v v
    test "assertion: #{v["name"]}" do
      v = @v
      keys = configure(v)
      {user, log} = with_log(fn -> EdgeSession.identify(v["token"], keys, opts(v)) end)
      assert identity(user) == if(v["valid"], do: v["claims"], else: nil)
      # A refused token is logged, never raised (an empty header is no token at all).
      rejected? = not (v["valid"] or v["token"] == "")
      assert (log =~ "edge_assertion_rejected") == rejected?
    end
  end

  for v <- table["secrets"] do
    @v v
    test "secret: #{v["name"]}" do
      v = @v

      if v["valid"] do
        assert [_ | _] = EdgeSession.parse_keys(v["secret"])
      else
        refused = assert_raise ArgumentError, fn -> EdgeSession.parse_keys(v["secret"]) end
        refute Exception.message(refused) =~ @table["secret_marker"], "the refusal prints the secret"
      end
    end
  end

  for v <- table["adopt"] do
    @v v
    test "adopt: #{v["name"]}" do
      v = @v
      keys = EdgeSession.parse_keys(@identified["secret"])

      headers = %{
        "x-edge-assertion" => if(v["identified"], do: @identified["token"]),
        "x-edge-session-state" => v["state_header"],
        "x-edge-nonce" => v["nonce"]
      }

      {directive, log} =
        with_log(fn ->
          request = EdgeSession.request(&headers[&1], keys, opts(@identified))
          assert EdgeSession.refusal(request) == v["refusal"]
          EdgeSession.adopt(request, v["legacy_sub"], keys, opts(@identified))
        end)

      assert (directive != nil) == v["adopts"]
      assert events(log) == if(v["logs"], do: [v["logs"]], else: [])

      if directive do
        {:ok, login} = directive |> String.split(".") |> Enum.at(1) |> Base.url_decode64!(padding: false) |> EdgeSession.JiffyJSON.decode()
        assert [login["sub"], login["nonce"]] == [v["legacy_sub"], v["nonce"]]
      end
    end
  end

  for v <- table["events"] do
    @v v
    test "event: #{v["name"]}" do
      v = @v
      # A queue message with the queue option, a webhook's body without it.
      opts = if v["queue"], do: [queue: true] ++ opts(v), else: opts(v)
      parsed = EdgeSession.parse_event(v["body"], EdgeSession.parse_keys(v["secret"], "EVENTS_SECRET"), opts)

      if v["valid"] do
        assert parsed == {:ok, v["event"]}
      else
        assert {:error, reason} = parsed
        refute reason =~ @table["secret_marker"], "the refusal prints the secret"
      end
    end
  end

  for v <- table["user_header"] do
    @v v
    test "user header: #{inspect(v["header"])}" do
      assert EdgeSession.decode_user(@v["header"]) == @v["sub"]
    end
  end

  # The events in captured log lines: the word before the first `:` of each message.
  defp events(log) do
    for [_, event] <- Regex.scan(~r/\b(edge_[a-z_]+):/, log), do: event
  end
end
