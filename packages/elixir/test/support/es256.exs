# Test helpers for ES256: key pairs and assertions signed here with OTP's own ECDSA, and a
# real HTTP server on 127.0.0.1 that serves a JWKS and counts its requests.

defmodule EdgeSession.Test.ES256 do
  @moduledoc false
  # A P-256 key pair, its JWK (as the edge serves it), and assertions it signs. The
  # signature's DER is turned into r || s here by hand (RFC 7518 §3.4), not with the
  # package's code nor :public_key, which the package uses the other way.

  def key(kid) do
    {<<4, _x::binary-size(32), _y::binary-size(32)>> = point, private} = :crypto.generate_key(:ecdh, :secp256r1)
    %{kid: kid, point: point, private: private}
  end

  def jwk(%{kid: kid, point: <<4, x::binary-size(32), y::binary-size(32)>>}, extra \\ %{}) do
    Map.merge(%{"kty" => "EC", "crv" => "P-256", "kid" => kid, "use" => "sig", "alg" => "ES256", "x" => b64(x), "y" => b64(y)}, extra)
  end

  def jwks(keys), do: %{"keys" => Enum.map(keys, &jwk/1)}

  # An assertion as the edge signs one at `now`; `header` replaces header fields (a `kid`
  # of nil is left out).
  def token(key, now, header \\ %{}, claims \\ %{}) do
    header = %{"alg" => "ES256", "typ" => "JWT", "kid" => key.kid} |> Map.merge(header) |> Map.reject(fn {_, v} -> v == nil end)

    claims =
      Map.merge(
        %{"iss" => "edge-session", "aud" => "origin", "sub" => "ada", "sid" => "AQEBAQEBAQEBAQEBAQEBAQ",
          "state" => "fresh", "iat" => now, "exp" => now + 60},
        claims
      )

    input = b64(:jiffy.encode(header)) <> "." <> b64(:jiffy.encode(claims))
    input <> "." <> b64(raw(:crypto.sign(:ecdsa, :sha256, input, [key.private, :secp256r1])))
  end

  # DER's SEQUENCE { INTEGER r, INTEGER s } (short lengths: P-256's fit in one byte), each
  # integer then written as exactly 32 big-endian bytes.
  defp raw(<<0x30, _len, 0x02, rlen, r::binary-size(rlen), 0x02, slen, s::binary-size(slen)>>),
    do: <<:binary.decode_unsigned(r)::256, :binary.decode_unsigned(s)::256>>

  def b64(bytes), do: Base.url_encode64(bytes, padding: false)
end

defmodule EdgeSession.Test.JWKSServer do
  @moduledoc false
  # HTTP/1.1 over :gen_tcp on 127.0.0.1 (a port of its own per test): each connection is
  # one request, answered with what `answer/2` last set, then closed. It counts requests.
  #
  #   {:jwks, map}             200, application/json, with Content-Length
  #   {:status, code, body}    that status and body, with Content-Length
  #   {:raw, bytes}            exactly these bytes (a chunked body, no length, a redirect…)
  #   :hang                    reads the request and never answers

  def start(answer) do
    {:ok, state} = Agent.start_link(fn -> %{answer: answer, requests: 0} end)
    listen(0, state)
  end

  # After stop/1: the same URL answers again (what was last set), and counts on.
  def restart(server), do: listen(server.port, server.state)

  defp listen(port, state) do
    {:ok, listen} = :gen_tcp.listen(port, [:binary, ip: {127, 0, 0, 1}, active: false, reuseaddr: true])
    {:ok, port} = :inet.port(listen)
    acceptor = spawn_link(fn -> accept(listen, state) end)
    :ok = :gen_tcp.controlling_process(listen, acceptor)
    %{url: "http://127.0.0.1:#{port}/__edge/jwks.json", port: port, state: state, acceptor: acceptor}
  end

  def answer(server, answer), do: Agent.update(server.state, &%{&1 | answer: answer})
  def requests(server), do: Agent.get(server.state, & &1.requests)

  # Closes the listening socket: connections are then refused (the edge is down).
  def stop(server) do
    Process.unlink(server.acceptor)
    Process.exit(server.acceptor, :kill)
  end

  defp accept(listen, state) do
    {:ok, socket} = :gen_tcp.accept(listen)
    handler = spawn(fn -> receive(do: (:go -> serve(socket, state))) end)
    :ok = :gen_tcp.controlling_process(socket, handler)
    send(handler, :go)
    accept(listen, state)
  end

  defp serve(socket, state) do
    with {:ok, _request} <- read_request(socket, "") do
      answer = Agent.get_and_update(state, &{&1.answer, %{&1 | requests: &1.requests + 1}})
      respond(socket, answer)
    end

    :gen_tcp.close(socket)
  end

  defp read_request(socket, read) do
    if String.contains?(read, "\r\n\r\n") do
      {:ok, read}
    else
      with {:ok, more} <- :gen_tcp.recv(socket, 0, 5_000), do: read_request(socket, read <> more)
    end
  end

  defp respond(socket, {:jwks, jwks}), do: respond(socket, {:status, 200, :jiffy.encode(jwks)})

  defp respond(socket, {:status, code, body}) do
    :gen_tcp.send(socket, [
      "HTTP/1.1 #{code} X\r\ncontent-type: application/json\r\ncontent-length: #{byte_size(body)}\r\n",
      "connection: close\r\n\r\n",
      body
    ])
  end

  defp respond(socket, {:raw, bytes}), do: :gen_tcp.send(socket, bytes)
  defp respond(_socket, :hang), do: Process.sleep(10_000)
end
