# Where admin_call/5 sends its bearer token: to `edge_url/__edge/admin` and nowhere else.
# An EDGE_URL with a path used to be concatenated (`/base/__edge/admin`: a path the edge
# forwards to the app, token included), and :httpc follows redirects by default. An
# edge_url that is not http(s)://host[:port] raises now, before any call, without echoing
# the value (swapped arguments would log ORIGIN_SECRET), and a 3xx is an error, not followed.
#
#   cd packages/elixir && mix test test/admin_endpoint_test.exs
defmodule EdgeSession.AdminEndpointTest do
  use ExUnit.Case, async: true

  @secret "o1:0123456789abcdef0123456789abcdef"
  @keys EdgeSession.parse_keys(@secret)
  @opts [json: EdgeSession.JiffyJSON]
  @rule ~r{\AEDGE_URL \(edge_url\) must be http\(s\)://host\[:port\], with no path, query, fragment or credentials: }
  # The Rust crate's rule (packages/rust/src/client.rs, admin_endpoint), and its test's cases.
  @not_edge_urls [
    "app.example.com", "localhost:8787", "ftp://app.example.com", "http://", "http:///__edge/admin",
    "https://app.example.com/base", "https://app.example.com/base/", "https://app.example.com/__edge/admin",
    "https://app.example.com/?x=1", "https://app.example.com/?", "https://app.example.com?x=1",
    "https://app.example.com/#x", "https://app.example.com#", "https://user:pw@app.example.com",
    "https://user@app.example.com", "https://app.example.com:port", "http://app.example.com\\base",
    "http://app.example.com /base", "http://app.example.com\n", "", nil, @secret
  ]

  # A local server answering POST /__edge/admin with `status` (a 3xx to /elsewhere) and
  # anything else with 200; calls `fun` with its URL, and returns the [method, path] of
  # every request it saw.
  defp recording(status, fun) do
    {:ok, listen} = :gen_tcp.listen(0, [:binary, packet: :line, active: false, reuseaddr: true, ip: {127, 0, 0, 1}])
    {:ok, port} = :inet.port(listen)
    test = self()

    server =
      spawn_link(fn ->
        Stream.repeatedly(fn -> :gen_tcp.accept(listen) end)
        |> Enum.each(fn {:ok, socket} ->
          {:ok, line} = :gen_tcp.recv(socket, 0, 5_000)
          [method, path | _] = String.split(line, " ")
          skip_headers(socket)
          send(test, {:seen, [method, path]})
          answer = if path == "/__edge/admin", do: status, else: 200
          data = EdgeSession.JiffyJSON.encode!(if answer == 200, do: %{"revoked" => 1, "pending" => 0}, else: %{})
          location = if answer in 300..399, do: "location: /elsewhere\r\n", else: ""

          :gen_tcp.send(socket, "HTTP/1.1 #{answer} X\r\n#{location}content-type: application/json\r\n" <>
                                  "content-length: #{byte_size(data)}\r\nconnection: close\r\n\r\n#{data}")

          :gen_tcp.close(socket)
        end)
      end)

    fun.("http://127.0.0.1:#{port}")
    Process.unlink(server)
    Process.exit(server, :kill)
    :gen_tcp.close(listen)
    collect([])
  end

  defp skip_headers(socket) do
    case :gen_tcp.recv(socket, 0, 5_000) do
      {:ok, "\r\n"} -> :ok
      {:ok, _header} -> skip_headers(socket)
    end
  end

  defp collect(seen) do
    receive do
      {:seen, request} -> collect(seen ++ [request])
    after
      0 -> seen
    end
  end

  test "the token goes to the admin path of a bare edge_url, with or without its trailing slash" do
    Application.ensure_all_started(:inets)

    for suffix <- ["", "/"] do
      seen =
        recording(200, fn url ->
          assert {:ok, %{"revoked" => 1, "pending" => 0}} = EdgeSession.revoke_all(url <> suffix, "ada", @keys, @opts)
        end)

      assert seen == [["POST", "/__edge/admin"]]
    end
  end

  test "an edge_url with a path, query, fragment or credentials raises before any call" do
    for bad <- @not_edge_urls do
      error = assert_raise ArgumentError, fn -> EdgeSession.admin_call(bad, "ada", :list, @keys, @opts) end
      assert error.message =~ @rule, inspect(bad)
      assert_raise ArgumentError, @rule, fn -> EdgeSession.list_sessions(bad, "ada", @keys, @opts) end
    end
  end

  test "the refusal names the rule, never the value" do
    # admin_call(edge_url, …, keys) with ORIGIN_SECRET where EDGE_URL belongs.
    error = assert_raise ArgumentError, fn -> EdgeSession.admin_call(@secret, "ada", :list, @keys, @opts) end
    refute error.message =~ "0123456789abcdef"

    for {bad, rule} <- [
          {"ftp://app.example.com", "the scheme is not http or https"},
          {"https://user:pw@app.example.com", "it has credentials"},
          {"https://app.example.com/base", "it has a path"},
          {"https://app.example.com/?x=1", "it has a query"},
          {"https://app.example.com/#x", "it has a fragment"},
          {"http://app.example.com\\base", "it is not a URL"}
        ] do
      error = assert_raise ArgumentError, fn -> EdgeSession.admin_call(bad, "ada", :list, @keys, @opts) end
      assert String.ends_with?(error.message, ": " <> rule), error.message
      refute error.message =~ "example"
    end
  end

  test "a redirect is an error, and the token never reaches where it points" do
    Application.ensure_all_started(:inets)

    for status <- [301, 302, 303, 307, 308] do
      seen =
        recording(status, fn url ->
          assert {:error, {:redirect, ^status}} = EdgeSession.admin_call(url, "ada", :revoke_all, @keys, @opts)
          assert {:error, {:redirect, ^status}} = EdgeSession.revoke_all(url, "ada", @keys, @opts)
        end)

      assert seen == [["POST", "/__edge/admin"], ["POST", "/__edge/admin"]], "#{status}"
    end
  end
end
