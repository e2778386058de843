defmodule EdgeSession.JWKS do
  @moduledoc """
  The edge's JWKS (`ASSERTION_ALG=ES256`): the public keys that verify `X-Edge-Assertion`
  when the edge signs it with ES256. The edge serves them at `GET /__edge/jwks.json`; a
  service that only verifies identities holds them, and no secret that could mint one.

  You need not call this module: `EdgeSession.assertion_keys/1` takes `jwks:` (the text
  of `EDGE_JWKS`, or that JSON already decoded to a map) or `jwks_url:`
  (`EDGE_JWKS_URL`, fetched by `EdgeSession.JWKS.Cache`). Verification is OTP's
  `:crypto` (OpenSSL's ECDSA); what a JWS asks beyond it (the signature's exact shape, a
  usable key) is checked here.
  """

  # P-256 (SEC 2 §2.4.2, FIPS 186-4 D.1.2.3): the field prime, the curve's b (a = -3),
  # and the group order N.
  @p 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
  @b 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
  @n 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

  # What a fetch may take (the contract's): a JWKS is a few hundred bytes, and a stalled
  # or flooding server must not hold a request, or memory, for long.
  @fetch_timeout 5_000
  @max_body 64 * 1024

  @typedoc "A usable key: its `kid` (or `nil`) and the uncompressed point `<<4, x::32 bytes, y::32 bytes>>`."
  @type key :: {String.t() | nil, binary}

  @doc """
  `EDGE_JWKS` (`jwks:`): the JWKS text, or the map its JSON decodes to, as its usable keys.
  Raises `ArgumentError`, naming the problem and never quoting the document (a pasted
  private key is in it), when it is not JSON, not `{"keys": [...]}`, has no usable key,
  or has any key with a private part (`d`): a private key in an origin's configuration is
  a leak to fix, not a key to use.
  """
  @spec parse!(String.t() | map, module) :: [key]
  def parse!(text, json) when is_binary(text) do
    case decode(text, json) do
      {:ok, value} -> parse!(value, json)
      :error -> raise ArgumentError, "EDGE_JWKS is not JSON"
    end
  end

  def parse!(jwks, _json) do
    with {:ok, list} <- key_list(jwks),
         nil <- Enum.find_index(list, &private?/1),
         [_ | _] = keys <- usable(list) do
      keys
    else
      {:error, reason} ->
        raise ArgumentError, "EDGE_JWKS is #{reason}"

      index when is_integer(index) ->
        raise ArgumentError, "EDGE_JWKS key ##{index + 1} has a private part (d): publish public keys only, and replace that key"

      [] ->
        raise ArgumentError, "EDGE_JWKS has no usable key (kty EC, crv P-256, x and y on the curve, use sig, alg ES256)"
    end
  end

  @doc false
  # A fetched body: a key with a private part is skipped, not refused (the edge never
  # serves one; skipping it keeps the good keys verifying). `{:ok, keys}` or
  # `{:error, reason}`, a reason that never quotes the body.
  def parse_fetched(body, json) do
    with {:ok, value} <- decode(body, json) |> or_error("not JSON"),
         {:ok, list} <- key_list(value),
         [_ | _] = keys <- usable(list) do
      {:ok, keys}
    else
      {:error, reason} -> {:error, "the body is #{reason}"}
      [] -> {:error, "the JWKS has no usable key"}
    end
  end

  defp decode(text, json) do
    case String.valid?(text) and json.decode(text) do
      {:ok, value} -> {:ok, value}
      _ -> :error
    end
  rescue
    # A JSON adapter may raise on malformed input.
    _ -> :error
  end

  defp or_error({:ok, value}, _reason), do: {:ok, value}
  defp or_error(:error, reason), do: {:error, reason}

  defp key_list(%{"keys" => keys}) when is_list(keys), do: {:ok, keys}
  defp key_list(_value), do: {:error, ~s<not a JWKS ({"keys": [...]})>}

  defp private?(jwk), do: is_map(jwk) and Map.has_key?(jwk, "d")

  # Every key that can verify ES256; any other is skipped, as RFC 7517 §5 asks of keys one
  # does not understand (another type or curve, use other than sig, alg other than ES256),
  # and so is a key with a private part (EDGE_JWKS refuses one before it gets here).
  defp usable(list), do: for(jwk <- list, key = usable_key(jwk), do: key)

  defp usable_key(%{"kty" => "EC", "crv" => "P-256", "x" => x, "y" => y} = jwk) do
    with false <- Map.has_key?(jwk, "d"),
         true <- absent_or(jwk, "use", "sig") and absent_or(jwk, "alg", "ES256"),
         {:ok, kid} <- kid(jwk),
         {:ok, point} <- point(x, y) do
      {kid, point}
    else
      _ -> nil
    end
  end

  defp usable_key(_jwk), do: nil

  # Present means this value: `"use": null` is not an absent use.
  defp absent_or(jwk, name, expected), do: not Map.has_key?(jwk, name) or jwk[name] == expected

  defp kid(%{"kid" => kid}) when is_binary(kid), do: {:ok, kid}
  defp kid(%{"kid" => _not_a_string}), do: :error
  defp kid(_jwk), do: {:ok, nil}

  # 32 bytes each of canonical base64url, and a point of the curve: a point off it is no
  # key the edge could have signed with (and feeding one to ECDSA invites invalid-curve
  # trouble). y² = x³ - 3x + b (mod p), with x and y below p.
  defp point(x64, y64) when is_binary(x64) and is_binary(y64) do
    with {:ok, <<x::unsigned-big-256>> = xb} <- EdgeSession.base64url(x64),
         {:ok, <<y::unsigned-big-256>> = yb} <- EdgeSession.base64url(y64),
         true <- x < @p and y < @p and rem(y * y - (x * x * x - 3 * x + @b), @p) == 0 do
      {:ok, <<4, xb::binary, yb::binary>>}
    else
      _ -> :error
    end
  end

  defp point(_x, _y), do: :error

  @doc false
  # An ES256 signature, exactly as RFC 7518 §3.4 writes it: 64 bytes, r || s, each in
  # [1, N-1], as the DER that :crypto reads. ASN.1 DER on the wire (what a lenient
  # verifier would also take), 63 or 65 bytes, r or s zero or out of range: refused,
  # before any key is looked at or fetched. Both s and N - s pass: JWS does not ask for
  # the low one.
  def der_signature(<<r::unsigned-big-256, s::unsigned-big-256>>)
      when r >= 1 and r < @n and s >= 1 and s < @n,
      do: {:ok, :public_key.der_encode(:"ECDSA-Sig-Value", {:"ECDSA-Sig-Value", r, s})}

  def der_signature(_signature), do: {:error, "bad signature (not 64 bytes of r || s, each in [1, N-1])"}

  @doc false
  # Whether `der` signs `input` with the key the header's `kid` names, or without one, with
  # any key (all are the edge's, trusted alike). A kid is a promise: a kid that names no
  # usable key, or two, is refused even if another key would verify.
  def verify(keys, header, input, der) do
    with {:ok, candidates} <- candidates(keys, header) do
      if Enum.any?(candidates, &ecdsa_ok?(&1, input, der)), do: :ok, else: {:error, "bad signature"}
    end
  end

  defp candidates(keys, header) do
    case Map.fetch(header, "kid") do
      :error -> {:ok, keys}
      {:ok, kid} when is_binary(kid) -> one_named(for {^kid, _} = key <- keys, do: key)
      {:ok, _} -> {:error, "token malformed"}
    end
  end

  defp one_named([key]), do: {:ok, [key]}
  defp one_named(_none_or_two), do: {:error, "unknown kid"}

  defp ecdsa_ok?({_kid, point}, input, der) do
    :crypto.verify(:ecdsa, :sha256, input, der, [point, :secp256r1])
  rescue
    _ -> false
  end

  @doc """
  `EDGE_JWKS_URL` (`jwks_url:`) if it may be fetched, else `ArgumentError`: `https:`, or
  `http:` to a loopback host (`localhost`, `127.0.0.0/8`, `[::1]`). A JWKS read in clear
  text is a key that anyone on the path chooses. The refusal names the rule, never the
  value.
  """
  @spec check_url!(String.t()) :: String.t()
  def check_url!(url) do
    refuse = fn rule ->
      raise ArgumentError, "EDGE_JWKS_URL must be https:, or http: to localhost, 127.0.0.0/8 or [::1]: #{rule}"
    end

    uri =
      with true <- is_binary(url) and not String.match?(url, ~r/[[:space:][:cntrl:]]/u),
           {:ok, uri} <- URI.new(url),
           do: uri,
           else: (_ -> nil)

    cond do
      uri == nil or uri.host in [nil, ""] -> refuse.("it is not a URL")
      uri.scheme == "https" -> url
      uri.scheme != "http" -> refuse.("the scheme is neither")
      loopback?(uri.host) -> url
      true -> refuse.("an http: URL to a host that is not loopback")
    end
  end

  defp loopback?(host) do
    charlist = String.to_charlist(host)

    cond do
      String.downcase(host, :ascii) == "localhost" -> true
      match?({:ok, {127, _, _, _}}, :inet.parse_ipv4strict_address(charlist)) -> true
      # URI.new/1 gives "[::1]" without its brackets.
      :inet.parse_ipv6strict_address(charlist) == {:ok, {0, 0, 0, 0, 0, 0, 0, 1}} -> true
      true -> false
    end
  end

  @doc false
  # GET `url`: `{:ok, keys}`; `:not_found` for a 404, an answer and not a failure (the
  # edge serves no JWKS under HS256: the cache drops its keys); or `{:error, reason}`,
  # where the reason never quotes the body. Only a 200 with the JWKS shape counts; a redirect is not followed (the URL is what
  # the operator configured, and checked). The body is streamed, so one over 64 KiB is
  # dropped as soon as it says so (Content-Length) or passes the cap, and the whole
  # exchange gives up after 5 s. Call it from a process that ends afterwards (the cache
  # runs it in a Task): `:httpc` may still send it messages after a cancel.
  def fetch(url, json) do
    deadline = System.monotonic_time(:millisecond) + @fetch_timeout
    charlist = String.to_charlist(url)
    http =
      [timeout: @fetch_timeout, connect_timeout: @fetch_timeout, autoredirect: false] ++ EdgeSession.tls_options(charlist)
    # One connection a fetch: fetches are minutes apart, and a pooled connection the
    # server closed meanwhile would fail the next fetch instead of opening a new one.
    request = {charlist, [{~c"accept", ~c"application/json"}, {~c"connection", ~c"close"}]}

    case :httpc.request(:get, request, http, sync: false, stream: {:self, :once}, body_format: :binary) do
      {:ok, id} ->
        with {:ok, body} <- receive_body(id, deadline), do: parse_fetched(body, json)

      {:error, reason} ->
        {:error, "the request failed: #{inspect(reason)}"}
    end
  end

  # :httpc streams only a 200 (or a 206) to the caller; any other status arrives whole.
  defp receive_body(id, deadline) do
    receive do
      {:http, {^id, :stream_start, headers, pid}} ->
        case too_large_or_partial(headers) do
          nil -> :httpc.stream_next(pid); receive_parts(id, pid, deadline, [], 0)
          reason -> cancel(id, reason)
        end

      {:http, {^id, {{_version, 200, _phrase}, _headers, body}}} when byte_size(body) <= @max_body ->
        {:ok, body}

      {:http, {^id, {{_version, 200, _phrase}, _headers, _body}}} ->
        {:error, "the body is over 64 KiB"}

      {:http, {^id, {{_version, 404, _phrase}, _headers, _body}}} ->
        :not_found

      {:http, {^id, {{_version, status, _phrase}, _headers, _body}}} ->
        {:error, "the server answered #{status}"}

      {:http, {^id, {:error, reason}}} ->
        {:error, "the request failed: #{inspect(reason)}"}
    after
      remaining(deadline) -> cancel(id, "no answer within 5 s")
    end
  end

  # A 206 (Content-Range) is not the 200 asked for; a Content-Length over the cap is
  # refused before a byte of the body is read.
  defp too_large_or_partial(headers) do
    length = List.keyfind(headers, ~c"content-length", 0)

    cond do
      List.keymember?(headers, ~c"content-range", 0) -> "the server answered a partial content"
      length != nil and content_length(elem(length, 1)) > @max_body -> "the body is over 64 KiB"
      true -> nil
    end
  end

  defp content_length(value) do
    case Integer.parse(to_string(value)) do
      {n, ""} -> n
      _ -> @max_body + 1
    end
  end

  defp receive_parts(id, pid, deadline, parts, size) do
    receive do
      {:http, {^id, :stream, part}} when size + byte_size(part) > @max_body ->
        cancel(id, "the body is over 64 KiB")

      {:http, {^id, :stream, part}} ->
        :httpc.stream_next(pid)
        receive_parts(id, pid, deadline, [parts | part], size + byte_size(part))

      {:http, {^id, :stream_end, _headers}} ->
        {:ok, IO.iodata_to_binary(parts)}

      {:http, {^id, {:error, reason}}} ->
        {:error, "the request failed: #{inspect(reason)}"}
    after
      remaining(deadline) -> cancel(id, "no complete answer within 5 s")
    end
  end

  defp remaining(deadline), do: max(deadline - System.monotonic_time(:millisecond), 0)

  defp cancel(id, reason) do
    :httpc.cancel_request(id)
    {:error, reason}
  end
end
