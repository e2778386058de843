# "Log out everywhere" without a sub, and a revocation of something that is not a session
# id: both used to be signed and sent, and refused by the edge where the app never saw it
# (`directive_rejected`) or in words that blame the secret (`401 invalid token`). Both are
# now refused here, by name; and a request's own logout (put_logout/3) fills in its user.
#
#   cd packages/elixir && mix test test/everywhere_sid_test.exs
defmodule EdgeSession.EverywhereSidTest do
  use ExUnit.Case, async: true

  @json EdgeSession.JiffyJSON
  {:ok, table} = "../conformance/vectors.json" |> Path.expand(Path.dirname(__ENV__.file) <> "/..") |> File.read!() |> EdgeSession.JiffyJSON.decode()
  # A valid assertion (for "alice"), its ring, audience and time.
  @identified Enum.find(table["assertions"], & &1["valid"])
  @keys EdgeSession.parse_keys(@identified["secret"])
  @now @identified["now"]
  @opts [json: EdgeSession.JiffyJSON, now: @identified["now"], audience: @identified["audience"]]

  # The edge's FamilyId::parse: 22 characters of canonical base64url (the last one carries
  # 2 bits and 4 zero bits: A, Q, g or w). The Node and Rust tests check the same lists.
  @sids ~w(AAAAAAAAAAAAAAAAAAAAAA BwcHBwcHBwcHBwcHBwcHBw _____________________w Zm9yLWNvbmZvcm1hbmNl-Q AQEBAQEBAQEBAQEBAQEBAg)
  @not_sids [
    "bogus", "", "AAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAB", "AAAAAAAAAAAAAAAAAAAAA_",
    "AAAAAAAAAAAAAAAAAAAAAA==", "AAAAAAAAAAAAAAAAAAAA+A", "AAAAAAAAAAAAAAAAAAAA/A", "AAAAAAAAAAAAAAAAAAAA A",
    "AAAAAAAAAAAAAAAAAAAAAA\n", "AAAAAAAAAAAAAAAAAAAAAé", "Zm9yLWNvbmZvcm1hbmNlLXRlc3Rz"
  ]

  # A request through the edge, identified by the vector's assertion or anonymous.
  defp request(signed_in) do
    headers = %{"x-edge-nonce" => "n0nce", "x-edge-assertion" => if(signed_in, do: @identified["token"])}
    EdgeSession.request(&headers[&1], @keys, @opts)
  end

  defp part(jws, index) do
    {:ok, value} = jws |> String.split(".") |> Enum.at(index) |> Base.url_decode64!(padding: false) |> @json.decode()
    value
  end

  defp logout_header(request), do: request.resp_headers |> List.keyfind("x-edge-logout", 0) |> elem(1)

  test "logout_directive refuses scope everywhere without a sub" do
    for sub <- [nil, ""] do
      assert_raise ArgumentError, "scope everywhere needs sub", fn ->
        EdgeSession.logout_directive(@keys, [nonce: "n0nce", scope: "everywhere", sub: sub] ++ @opts)
      end
    end
  end

  test "a valid logout directive looks as before" do
    everywhere = EdgeSession.logout_directive(@keys, [nonce: "n0nce", scope: "everywhere", sub: "ada"] ++ @opts)
    assert part(everywhere, 0) == %{"alg" => "HS256", "typ" => "edge-logout+jwt", "kid" => "o2"}

    assert part(everywhere, 1) ==
             %{"aud" => "edge-session", "iat" => @now, "exp" => @now + 120, "scope" => "everywhere", "nonce" => "n0nce", "sub" => "ada"}

    session = EdgeSession.logout_directive(@keys, [nonce: "n0nce"] ++ @opts)
    assert part(session, 1) == %{"aud" => "edge-session", "iat" => @now, "exp" => @now + 120, "scope" => "session", "nonce" => "n0nce"}
  end

  test "put_logout everywhere on a signed-in request ends every session of its user" do
    request = request(true)
    assert request.user["sub"] == "alice"
    claims = request |> EdgeSession.put_logout(@keys, [scope: "everywhere"] ++ @opts) |> logout_header() |> part(1)
    assert {claims["scope"], claims["sub"]} == {"everywhere", "alice"}
  end

  test "an explicit sub is kept, and a session logout carries none" do
    request = EdgeSession.put_logout(request(true), @keys, [scope: "everywhere", sub: "bob"] ++ @opts)
    assert part(logout_header(request), 1)["sub"] == "bob"
    request = EdgeSession.put_logout(request, @keys, @opts)
    refute Map.has_key?(part(logout_header(request), 1), "sub")
  end

  test "put_logout everywhere without sub on an anonymous request raises" do
    assert_raise ArgumentError, "scope everywhere needs sub", fn ->
      EdgeSession.put_logout(request(false), @keys, [scope: "everywhere"] ++ @opts)
    end
  end

  test "admin_token takes exactly the edge's session ids as sid: and except:" do
    for sid <- @sids do
      assert Base.url_encode64(Base.url_decode64!(sid, padding: false), padding: false) == sid, "canonical"
      assert part(EdgeSession.admin_token("ada", :revoke, @keys, [sid: sid] ++ @opts), 1)["sid"] == sid
      assert part(EdgeSession.admin_token("ada", :revoke_all, @keys, [except: sid] ++ @opts), 1)["except"] == sid
    end

    for bad <- @not_sids ++ [7] do
      message = "not a session id: #{inspect(bad)}"
      assert_raise ArgumentError, message, fn -> EdgeSession.admin_token("ada", :revoke, @keys, [sid: bad] ++ @opts) end
      assert_raise ArgumentError, message, fn -> EdgeSession.admin_token("ada", :revoke_all, @keys, [except: bad] ++ @opts) end
    end

    assert_raise ArgumentError, "revoke needs sid:", fn -> EdgeSession.admin_token("ada", :revoke, @keys, @opts) end
    refute Map.has_key?(part(EdgeSession.admin_token("ada", :revoke_all, @keys, @opts), 1), "except")
  end

  # An edge admin API on a local port answering `status` and `body` to every POST; calls
  # `fun` with its URL, and returns the bearer tokens it was sent.
  defp edge_answering(status, body, fun) do
    {:ok, listen} = :gen_tcp.listen(0, [:binary, packet: :line, active: false, reuseaddr: true, ip: {127, 0, 0, 1}])
    {:ok, port} = :inet.port(listen)
    test = self()
    data = @json.encode!(body)

    server =
      spawn_link(fn ->
        Stream.repeatedly(fn -> :gen_tcp.accept(listen) end)
        |> Enum.each(fn {:ok, socket} ->
          send(test, {:token, read_token(socket)})
          :gen_tcp.send(socket, "HTTP/1.1 #{status} X\r\ncontent-type: application/json\r\ncontent-length: #{byte_size(data)}\r\nconnection: close\r\n\r\n#{data}")
          :gen_tcp.close(socket)
        end)
      end)

    fun.("http://127.0.0.1:#{port}")
    Process.unlink(server)
    Process.exit(server, :kill)
    :gen_tcp.close(listen)
    collect_tokens([])
  end

  defp read_token(socket, token \\ nil) do
    case :gen_tcp.recv(socket, 0, 5_000) do
      {:ok, "\r\n"} -> token
      {:ok, line} ->
        case String.split(String.trim(line), " ", parts: 3) do
          [name, "Bearer", value] -> if(String.downcase(name) == "authorization:", do: read_token(socket, value), else: read_token(socket, token))
          _ -> read_token(socket, token)
        end
    end
  end

  defp collect_tokens(tokens) do
    receive do
      {:token, token} -> collect_tokens(tokens ++ [token])
    after
      0 -> tokens
    end
  end

  test "admin_call refuses a malformed id before any call" do
    tokens =
      edge_answering(200, %{"revoked" => 1, "pending" => 0}, fn url ->
        assert_raise ArgumentError, ~s(not a session id: "bogus"), fn ->
          EdgeSession.admin_call(url, "ada", :revoke, @keys, [sid: "bogus"] ++ @opts)
        end

        assert_raise ArgumentError, ~s(not a session id: "bogus"), fn ->
          EdgeSession.admin_call(url, "ada", :revoke_all, @keys, [except: "bogus"] ++ @opts)
        end
      end)

    assert tokens == []
  end

  test "admin_call's answers: sessions, revoked and pending, 404 for an unknown session" do
    Application.ensure_all_started(:inets)

    session = %{"sid" => Enum.at(@sids, 1), "created_at" => 1_700_000_000, "last_seen" => 1_700_000_060, "remember" => true,
                "device_bound" => false, "user_agent" => "curl/8", "country" => nil}

    [token] =
      edge_answering(200, %{"sub" => "ada", "sessions" => [session]}, fn url ->
        assert {:ok, 200, %{"sub" => "ada", "sessions" => [^session]}} = EdgeSession.admin_call(url, "ada", :list, @keys, @opts)
      end)

    assert part(token, 1)["act"] == "list"

    [token] =
      edge_answering(200, %{"revoked" => 1, "pending" => 0}, fn url ->
        assert {:ok, 200, %{"revoked" => 1, "pending" => 0}} =
                 EdgeSession.admin_call(url, "ada", :revoke, @keys, [sid: Enum.at(@sids, 1)] ++ @opts)
      end)

    assert part(token, 1)["sid"] == Enum.at(@sids, 1)
    unknown = %{"error" => "no such session for this user", "revoked" => 0, "pending" => 0}

    edge_answering(404, unknown, fn url ->
      assert {:ok, 404, ^unknown} = EdgeSession.admin_call(url, "ada", :revoke, @keys, [sid: Enum.at(@sids, 2)] ++ @opts)
    end)
  end

  test "list_sessions, revoke_session and revoke_all answer as every package's client does" do
    Application.ensure_all_started(:inets)
    session = %{"sid" => Enum.at(@sids, 1), "created_at" => 1, "last_seen" => 2, "remember" => false,
                "device_bound" => false, "user_agent" => nil, "country" => nil}

    edge_answering(200, %{"sub" => "ada", "sessions" => [session]}, fn url ->
      assert {:ok, [^session]} = EdgeSession.list_sessions(url, "ada", @keys, @opts)
    end)

    [token] =
      edge_answering(200, %{"revoked" => 1, "pending" => 0}, fn url ->
        assert {:ok, %{"revoked" => 1, "pending" => 0}} = EdgeSession.revoke_session(url, "ada", Enum.at(@sids, 1), @keys, @opts)
      end)

    assert part(token, 1)["sid"] == Enum.at(@sids, 1)

    [token] =
      edge_answering(200, %{"revoked" => 2, "pending" => 1}, fn url ->
        assert {:ok, %{"revoked" => 2}} = EdgeSession.revoke_all(url, "ada", @keys, [except: Enum.at(@sids, 0)] ++ @opts)
      end)

    assert part(token, 1)["except"] == Enum.at(@sids, 0)
    unknown = %{"error" => "no such session for this user", "revoked" => 0, "pending" => 0}

    edge_answering(404, unknown, fn url ->
      assert {:error, {404, ^unknown}} = EdgeSession.revoke_session(url, "ada", Enum.at(@sids, 2), @keys, @opts)
    end)
  end
end
