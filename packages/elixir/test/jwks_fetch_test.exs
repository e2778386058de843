# EDGE_JWKS_URL over real HTTP: a server on 127.0.0.1 serves the JWKS and counts the
# fetches; assertions are signed here (OTP's ECDSA) with keys made here. Time is the
# package's `now:` option, moved on instead of slept through.
#
#   cd packages/elixir && mix test test/jwks_fetch_test.exs
defmodule EdgeSession.JWKSFetchTest do
  # Each test has its own server, so its own URL and cache; logs are told apart by URL.
  use ExUnit.Case, async: true
  import ExUnit.CaptureLog

  alias EdgeSession.Test.{ES256, JWKSServer}

  @t0 1_700_000_000
  @json EdgeSession.JiffyJSON

  setup do
    a1 = ES256.key("a1")
    server = JWKSServer.start({:jwks, ES256.jwks([a1])})
    keys = EdgeSession.assertion_keys(origin_secret: nil, jwks: nil, jwks_url: server.url, json: @json)
    %{a1: a1, server: server, keys: keys}
  end

  # Who `token` is at `now` (nil: anonymous), and what was logged meanwhile.
  defp identify(token, keys, now) do
    with_log(fn -> EdgeSession.identify(token, keys, now: now, json: @json) end)
  end

  defp sub(token, keys, now), do: token |> identify(keys, now) |> elem(0) |> then(&(&1 && &1["sub"]))

  # This server's edge_jwks_unavailable lines (other tests run at the same time).
  defp unavailable(log, server), do: for(line <- String.split(log, "\n"), line =~ "edge_jwks_unavailable: #{server.url}", do: line)

  test "fetched on first use, once; kept 5 minutes; then fetched again", %{a1: a1, server: server, keys: keys} do
    # Constructing fetches nothing (the edge may start later).
    assert JWKSServer.requests(server) == 0
    assert sub(ES256.token(a1, @t0), keys, @t0) == "ada"
    assert JWKSServer.requests(server) == 1

    for later <- [1, 150, 299], do: assert(sub(ES256.token(a1, @t0 + later), keys, @t0 + later) == "ada")
    assert JWKSServer.requests(server) == 1

    assert sub(ES256.token(a1, @t0 + 300), keys, @t0 + 300) == "ada"
    assert JWKSServer.requests(server) == 2
  end

  test "an unknown kid fetches again once; a burst within the 30 s cooldown fetches no more; concurrent requests share one fetch",
       %{a1: a1, server: server, keys: keys} do
    stranger = ES256.key("x9")
    assert sub(ES256.token(a1, @t0), keys, @t0) == "ada"

    # Within the cooldown of the first fetch: refused without fetching.
    {nil, log} = identify(ES256.token(stranger, @t0 + 10), keys, @t0 + 10)
    assert log =~ "edge_assertion_rejected: unknown kid"
    assert JWKSServer.requests(server) == 1

    # After it: one fetch (the server still lacks x9, so still refused).
    assert sub(ES256.token(stranger, @t0 + 40), keys, @t0 + 40) == nil
    assert JWKSServer.requests(server) == 2

    # 20 random kids at once, within the cooldown: none fetches.
    burst = fn now ->
      1..20
      |> Task.async_stream(fn i -> sub(ES256.token(ES256.key("r#{i}"), now), keys, now) end, max_concurrency: 20)
      |> Enum.map(fn {:ok, sub} -> sub end)
    end

    assert burst.(@t0 + 45) == List.duplicate(nil, 20)
    assert JWKSServer.requests(server) == 2

    # The same burst after the cooldown: they all ask at once, and one fetch answers them.
    assert burst.(@t0 + 80) == List.duplicate(nil, 20)
    assert JWKSServer.requests(server) == 3
    # The known key still verifies throughout.
    assert sub(ES256.token(a1, @t0 + 81), keys, @t0 + 81) == "ada"
    assert JWKSServer.requests(server) == 3
  end

  test "no kid and no cached key verifies: fetched again, as for an unknown kid", %{a1: a1, server: server, keys: keys} do
    a2 = ES256.key("a2")
    assert sub(ES256.token(a1, @t0, %{"kid" => nil}), keys, @t0) == "ada"
    JWKSServer.answer(server, {:jwks, ES256.jwks([a2, a1])})

    assert sub(ES256.token(a2, @t0 + 31, %{"kid" => nil}), keys, @t0 + 31) == "ada"
    assert JWKSServer.requests(server) == 2
  end

  test "a key rotated in is picked up on the first use of its kid, after the cooldown",
       %{a1: a1, server: server, keys: keys} do
    a2 = ES256.key("a2")
    assert sub(ES256.token(a1, @t0), keys, @t0) == "ada"
    JWKSServer.answer(server, {:jwks, ES256.jwks([a2, a1])})

    # The first fetch was 10 s ago: not yet.
    assert sub(ES256.token(a2, @t0 + 10), keys, @t0 + 10) == nil
    assert JWKSServer.requests(server) == 1
    # 30 s after it: the new kid fetches, and verifies.
    assert sub(ES256.token(a2, @t0 + 30), keys, @t0 + 30) == "ada"
    assert JWKSServer.requests(server) == 2
    # A kid that names a known key but whose signature fails is a forgery: no fetch.
    forged = ES256.token(ES256.key("a2"), @t0 + 70)
    assert {nil, log} = identify(forged, keys, @t0 + 70)
    assert log =~ "edge_assertion_rejected: bad signature"
    assert JWKSServer.requests(server) == 2
  end

  @big String.duplicate("x", 64 * 1024)
  @failures [
    {"a 500", {:status, 500, ~s({"error":"b0dy-m4rker"})}, "answered 500"},
    {"not JSON", {:status, 200, "<html>b0dy-m4rker</html>"}, "the body is not JSON"},
    {"JSON, not a JWKS", {:status, 200, ~s({"kes":"b0dy-m4rker"})}, "the body is not a JWKS"},
    {"a JWKS without a usable key", {:jwks, %{"keys" => [%{"kty" => "RSA", "n" => "b0dy-m4rker"}]}}, "no usable key"},
    {"over 64 KiB, by its Content-Length", {:status, 200, ~s({"keys":[],"pad":"#{@big}b0dy-m4rker"})}, "over 64 KiB"},
    {"over 64 KiB, chunked",
     {:raw, "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n" <>
              String.duplicate("4000\r\n" <> String.duplicate("y", 0x4000) <> "\r\n", 5) <> "0\r\n\r\n"}, "over 64 KiB"},
    {"over 64 KiB, no length", {:raw, "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n" <> @big <> "b0dy-m4rker"}, "over 64 KiB"},
    {"a redirect, not followed", {:raw, "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:1/\r\ncontent-length: 0\r\n\r\n"}, "answered 302"}
  ]

  for {name, answer, reason} <- @failures do
    @answer answer
    @reason reason
    test "#{name}: anonymous, edge_jwks_unavailable logged, and the keys fetched before still verify",
         %{a1: a1, server: server, keys: keys} do
      # First use fails: anonymous, logged, never raised.
      JWKSServer.answer(server, @answer)
      {nil, log} = identify(ES256.token(a1, @t0), keys, @t0)
      assert [line] = unavailable(log, server)
      assert line =~ @reason
      refute line =~ "b0dy-m4rker", "the reason quotes the body"
      assert log =~ "edge_assertion_rejected"

      # A good fetch (after the cooldown), then the same failure when the keys expire:
      # they are kept, and go on verifying until a fetch succeeds.
      JWKSServer.answer(server, {:jwks, ES256.jwks([a1])})
      assert sub(ES256.token(a1, @t0 + 30), keys, @t0 + 30) == "ada"
      JWKSServer.answer(server, @answer)
      {claims, log} = identify(ES256.token(a1, @t0 + 400), keys, @t0 + 400)
      assert claims["sub"] == "ada"
      assert [line] = unavailable(log, server)
      assert line =~ "the 1 keys fetched before still verify"
      assert JWKSServer.requests(server) == 3
    end
  end

  test "server down: anonymous and logged; a cached key still verifies", %{a1: a1, server: server, keys: keys} do
    assert sub(ES256.token(a1, @t0), keys, @t0) == "ada"
    JWKSServer.stop(server)

    {claims, log} = identify(ES256.token(a1, @t0 + 301), keys, @t0 + 301)
    assert claims["sub"] == "ada"
    assert [line] = unavailable(log, server)
    assert line =~ "the request failed"

    # A key it never fetched: anonymous, and the cooldown keeps it from trying again.
    {nil, log} = identify(ES256.token(ES256.key("a2"), @t0 + 302), keys, @t0 + 302)
    assert log =~ "edge_assertion_rejected: unknown kid"
    assert unavailable(log, server) == []
  end

  @day 24 * 3600

  test "server down: kept keys verify for 24 h after the last good fetch, then are dropped; the URL back restores them",
       %{a1: a1, server: server, keys: keys} do
    assert sub(ES256.token(a1, @t0), keys, @t0) == "ada"
    # A later good fetch (the 5 minutes over): the 24 h count from this one, not the first.
    good = @t0 + 3600
    assert sub(ES256.token(a1, good), keys, good) == "ada"
    assert JWKSServer.requests(server) == 2
    JWKSServer.stop(server)

    # 23 h 59 min after it, the edge still down: the key verifies, and the failure is logged.
    at = good + @day - 60
    {claims, log} = identify(ES256.token(a1, at), keys, at)
    assert claims["sub"] == "ada"
    assert [line] = unavailable(log, server)
    assert line =~ "the request failed"
    assert line =~ "the 1 keys fetched before still verify"

    # 24 h and 1 s after it: the fetch fails again, the keys are dropped, anonymous.
    at = good + @day + 1
    {nil, log} = identify(ES256.token(a1, at), keys, at)
    assert [line] = unavailable(log, server)
    assert line =~ "no fetch has succeeded for 24 h; the 1 keys fetched before are dropped"
    assert log =~ "edge_assertion_rejected"
    # And they stay dropped (within the cooldown: no fetch, nothing read from the table).
    {nil, _log} = identify(ES256.token(a1, at + 1), keys, at + 1)

    # The URL answers 200 again: the first assertion after the cooldown verifies.
    JWKSServer.restart(server)
    assert sub(ES256.token(a1, at + 30), keys, at + 30) == "ada"
    assert JWKSServer.requests(server) == 3
  end

  test "the 24 h run out within the cooldown of a failed fetch: dropped without a fetch",
       %{a1: a1, server: server, keys: keys} do
    assert sub(ES256.token(a1, @t0), keys, @t0) == "ada"
    JWKSServer.answer(server, {:status, 503, "down"})

    # A failed fetch 10 s before the 24 h: kept. At 24 h exactly (no fetch): still kept.
    assert sub(ES256.token(a1, @t0 + @day - 10), keys, @t0 + @day - 10) == "ada"
    assert sub(ES256.token(a1, @t0 + @day), keys, @t0 + @day) == "ada"
    assert JWKSServer.requests(server) == 2

    # One second more, 11 s after the failed fetch: dropped, logged, and no fetch.
    {nil, log} = identify(ES256.token(a1, @t0 + @day + 1), keys, @t0 + @day + 1)
    assert [line] = unavailable(log, server)
    assert line =~ "no fetch has succeeded for 24 h; the 1 keys fetched before are dropped"
    assert JWKSServer.requests(server) == 2
  end

  test "a 404 is an answer: the keys are dropped at once (an unknown kid's refetch); a 200 again restores them",
       %{a1: a1, server: server, keys: keys} do
    assert sub(ES256.token(a1, @t0), keys, @t0) == "ada"
    # The operator moved the edge back to HS256 (the ES256 key leaked): no JWKS any more.
    JWKSServer.answer(server, {:status, 404, "b0dy-m4rker"})
    assert sub(ES256.token(a1, @t0 + 40), keys, @t0 + 40) == "ada"
    assert JWKSServer.requests(server) == 1

    # An unknown kid fetches again (the cooldown is over): the 404 drops the keys.
    {nil, log} = identify(ES256.token(ES256.key("x9"), @t0 + 41), keys, @t0 + 41)
    assert [line] = unavailable(log, server)
    assert line =~ "the server answered 404"
    assert line =~ "the 1 keys fetched before are dropped"
    refute line =~ "b0dy-m4rker", "the reason quotes the body"
    assert JWKSServer.requests(server) == 2

    # The token that verified a moment before is refused right after, though the keys
    # were fetched less than 5 minutes ago; the 404 counts for the cooldown.
    {nil, log} = identify(ES256.token(a1, @t0 + 42), keys, @t0 + 42)
    assert log =~ "edge_assertion_rejected"
    assert JWKSServer.requests(server) == 2

    # The URL answers 200 again: after the cooldown, the key verifies.
    JWKSServer.answer(server, {:jwks, ES256.jwks([a1])})
    assert sub(ES256.token(a1, @t0 + 71), keys, @t0 + 71) == "ada"
    assert JWKSServer.requests(server) == 3
  end

  test "a 404 when the 5 minutes are over: that very assertion is refused; on first use, no key is held",
       %{a1: a1, server: server, keys: keys} do
    assert sub(ES256.token(a1, @t0), keys, @t0) == "ada"
    JWKSServer.answer(server, {:status, 404, ""})

    {nil, log} = identify(ES256.token(a1, @t0 + 300), keys, @t0 + 300)
    assert [line] = unavailable(log, server)
    assert line =~ "the server answered 404"
    assert line =~ "the 1 keys fetched before are dropped"
    assert JWKSServer.requests(server) == 2

    # A cache that never had keys: a 404 is logged, and the assertion is anonymous.
    fresh = JWKSServer.start({:status, 404, ""})
    keys = EdgeSession.assertion_keys(origin_secret: nil, jwks: nil, jwks_url: fresh.url, json: @json)
    {nil, log} = identify(ES256.token(a1, @t0), keys, @t0)
    assert [line] = unavailable(log, fresh)
    assert line =~ "the server answered 404"
    assert line =~ "no key held"
  end

  test "a server that never answers: given up after 5 s, anonymous", %{a1: a1, server: server, keys: keys} do
    JWKSServer.answer(server, :hang)
    started = System.monotonic_time(:millisecond)
    {nil, log} = identify(ES256.token(a1, @t0), keys, @t0)
    took = System.monotonic_time(:millisecond) - started
    assert took in 4_900..7_000
    assert [line] = unavailable(log, server)
    assert line =~ "within 5 s"
  end

  test "a fetched key with a private part is skipped; the others verify", %{a1: a1, server: server, keys: keys} do
    a2 = ES256.key("a2")
    leaked = ES256.jwk(a2, %{"d" => ES256.b64(a2.private)})
    JWKSServer.answer(server, {:jwks, %{"keys" => [leaked, ES256.jwk(a1)]}})

    assert sub(ES256.token(a1, @t0), keys, @t0) == "ada"
    assert sub(ES256.token(a2, @t0 + 1), keys, @t0 + 1) == nil
  end

  test "HS256 is refused with only the JWKS, and ES256 is checked before any fetch", %{server: server, keys: keys} do
    secret = String.duplicate("o", 32)
    input = ES256.b64(~s({"alg":"HS256","typ":"JWT","kid":"o1"})) <> "." <> ES256.b64(~s({"sub":"ada"}))
    hs256 = input <> "." <> ES256.b64(:crypto.mac(:hmac, :sha256, secret, input))
    {nil, log} = identify(hs256, keys, @t0)
    assert log =~ "edge_assertion_rejected: HS256, and no ORIGIN_SECRET is configured"

    # A signature that cannot be ES256's (DER-sized) never causes a fetch.
    der = String.replace(ES256.token(ES256.key("a1"), @t0), ~r/\.[^.]+\z/, "." <> ES256.b64(:binary.copy(<<1>>, 70)))
    {nil, _log} = identify(der, keys, @t0)
    assert JWKSServer.requests(server) == 0
  end

  test "the URL: https, or http to loopback only; refused at construction, by rule, never by value" do
    ok = fn url -> EdgeSession.assertion_keys(origin_secret: nil, jwks: nil, jwks_url: url).jwks_url == url end

    for url <- ~w(https://app.example/__edge/jwks.json http://127.0.0.1:8787/__edge/jwks.json http://127.9.8.7/j
                  http://localhost:8787/j http://LOCALHOST/j http://[::1]:8787/j),
        do: assert(ok.(url), url)

    for url <- ~w(http://example.com/__edge/jwks.json http://10.0.0.1/j http://127.0.0.1.example.com/j
                  http://0.0.0.0/j ftp://127.0.0.1/j /__edge/jwks.json https:///j) do
      error = assert_raise ArgumentError, fn -> EdgeSession.assertion_keys(origin_secret: nil, jwks: nil, jwks_url: url) end
      assert Exception.message(error) =~ ~r/\AEDGE_JWKS_URL must be https:/
      refute Exception.message(error) =~ url
    end
  end
end
