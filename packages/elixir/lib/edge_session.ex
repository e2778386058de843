defmodule EdgeSession do
  @moduledoc """
  edge-session origin kit for Elixir: verify the `X-Edge-Assertion` the edge adds to
  every identified request, and sign the `X-Edge-Login` / `X-Edge-Logout` directives
  the edge applies (docs/design.md §4), and call the edge's admin API (`admin_token/4`,
  `admin_call/5`). Only OTP's `:crypto` is needed (and `:inets` for `admin_call/5`); JSON
  goes through a
  module with `encode!/1` and `decode/1` (Jason by default: a Phoenix app has it; pass
  `json: MyAdapter` or set `config :edge_session, json: MyAdapter` otherwise).

  Secrets use the edge's format `kid:secret[,kid:secret…]`: the first signs, all
  verify, and the HMAC key is the UTF-8 text of `secret` as written.

      keys = EdgeSession.parse_keys(System.fetch_env!("ORIGIN_SECRET"))
      claims = EdgeSession.verify_assertion(header_value, keys)   # map or nil
      login = EdgeSession.login_directive("ada", keys, nonce: request_nonce, remember: true)
  """

  @issuer "edge-session"
  @edge_audience "edge-session"
  # Clocks of edge and origin may disagree by this much (the edge allows the same).
  @skew 30
  # The edge issues assertions for 60 s; anything claiming longer was not made by it.
  @assertion_max_lifetime 60
  # The edge refuses directives whose exp - iat exceeds 5 minutes.
  @directive_max_lifetime 300
  # The edge refuses admin tokens whose exp - iat is longer.
  @admin_max_lifetime 60
  # Far above any real token; bounds the work an unauthenticated request can cause.
  @max_token_len 8192

  @doc "`kid:secret,kid:secret` → `[{kid, key}]`, signing key first."
  def parse_keys(text) when is_binary(text) do
    keys =
      for pair <- String.split(text, ","), pair = String.trim(pair), pair != "" do
        case String.split(pair, ":", parts: 2) do
          # An empty key would make every MAC forgeable: refuse it outright.
          [kid, secret] when secret != "" -> {kid, secret}
          _ -> raise ArgumentError, "ORIGIN_SECRET: a pair is not kid:secret"
        end
      end

    if keys == [], do: raise(ArgumentError, "ORIGIN_SECRET holds no kid:secret pair")
    keys
  end

  @doc """
  The claims of a valid assertion, or `nil`. Checks signature, alg, typ, iss, aud,
  exp and iat; picks the key by `kid`, else tries each. Options: `audience:`
  (default `"origin"`, the edge's `ORIGIN_AUDIENCE`), `json:`, `now:` (unix seconds).
  """
  def verify_assertion(token, keys, opts \\ [])

  def verify_assertion(token, keys, opts)
      when is_binary(token) and byte_size(token) <= @max_token_len do
    json = json(opts)

    with [h64, p64, s64] <- String.split(token, "."),
         {:ok, header} <- decode_part(h64, json),
         # Only HS256: refuses `none` and algorithm confusion (RFC 8725 §3.1).
         "HS256" <- header["alg"],
         # Only `typ: JWT`: a login/logout directive must never pass as an assertion.
         "JWT" <- header["typ"],
         # We understand no critical extension, so we must refuse any (RFC 7515 §4.1.11).
         false <- Map.has_key?(header, "crit"),
         {:ok, candidates} <- candidates(keys, header["kid"]),
         {:ok, mac} <- Base.url_decode64(s64, padding: false),
         true <- Enum.any?(candidates, &mac_ok?(&1, h64 <> "." <> p64, mac)),
         # Claims are read only once the MAC is good.
         {:ok, claims} <- decode_part(p64, json),
         true <- claims_ok?(claims, Keyword.get(opts, :audience, "origin"), now(opts)) do
      claims
    else
      _ -> nil
    end
  end

  def verify_assertion(_token, _keys, _opts), do: nil

  @doc """
  The migration bridge: for a request with no edge identity (`claims` is `nil`) that
  still carries the app's own session for `legacy_sub`, the `X-Edge-Login` value that
  logs that user in at the edge (else `nil`). Options as `login_directive/3`.
  """
  def adopt(claims, legacy_sub, keys, opts \\ [])
  def adopt(nil, legacy_sub, keys, opts) when is_binary(legacy_sub) and legacy_sub != "",
    do: login_directive(legacy_sub, keys, opts)
  def adopt(_claims, _legacy_sub, _keys, _opts), do: nil

  @doc """
  Who a request is: the claims of its assertion (`token`, the `X-Edge-Assertion` value),
  or `nil`. Like `verify_assertion/3`, but a token that is present and refused is
  logged (`edge_assertion_rejected`): anonymous, never an exception.
  """
  def identify(token, keys, opts \\ []) do
    claims = verify_assertion(token, keys, opts)
    if is_nil(claims) and is_binary(token) and token != "" do
      require Logger
      Logger.warning("edge_assertion_rejected")
    end
    claims
  end

  @doc """
  Value for the `X-Edge-Login` response header: the edge starts a session for `sub`.
  `nonce:` (required) is the `X-Edge-Nonce` header of the request this response answers.
  Options: `remember:` (default false), `ctx:` (a map, ≤ 1 KiB as JSON), `lifetime:`
  (seconds, default 120), `json:`, `now:`.
  """
  def login_directive(sub, keys, opts \\ []) when is_binary(sub) do
    claims = %{"sub" => sub, "remember" => Keyword.get(opts, :remember, false), "nonce" => nonce!(opts)}
    claims = if ctx = opts[:ctx], do: Map.put(claims, "ctx", ctx), else: claims
    directive("edge-login+jwt", claims, keys, opts)
  end

  @doc """
  Value for the `X-Edge-Logout` response header. `nonce:` (required) is the request's
  `X-Edge-Nonce`. Options: `scope:` (`"session"`, the default, or `"everywhere"`, which
  needs `sub:`), `sub:`, `lifetime:`, `json:`, `now:`.
  """
  def logout_directive(keys, opts \\ []) do
    claims = %{"scope" => Keyword.get(opts, :scope, "session"), "nonce" => nonce!(opts)}
    claims = if sub = opts[:sub], do: Map.put(claims, "sub", sub), else: claims
    directive("edge-logout+jwt", claims, keys, opts)
  end

  @doc """
  `X-Edge-User` as the `sub` it encodes (bytes outside `A-Za-z0-9._~@+-` are
  percent-encoded). A convenience: trust the verified assertion's `sub`, unless the
  origin is reachable only through the edge.
  """
  def decode_user(nil), do: nil
  def decode_user(header) when is_binary(header), do: URI.decode(header)

  # The edge ignores a directive that does not echo the X-Edge-Nonce of the request it
  # answers, so a cached or captured response can never log anyone else in.
  defp nonce!(opts) do
    case opts[:nonce] do
      nonce when is_binary(nonce) and nonce != "" -> nonce
      _ -> raise ArgumentError, "nonce: is required (the request's X-Edge-Nonce header)"
    end
  end

  @doc """
  Bearer token for `POST /__edge/admin`. `act` is `:list`, `:revoke` (needs `sid:`) or
  `:revoke_all` (`except:` a sid to keep). Every parameter is a signed claim. Options:
  `sid:`, `except:`, `lifetime:` (seconds, default and at most 60), `json:`, `now:`.
  """
  def admin_token(sub, act, keys, opts \\ [])
      when is_binary(sub) and act in [:list, :revoke, :revoke_all] do
    lifetime = Keyword.get(opts, :lifetime, @admin_max_lifetime)

    unless is_integer(lifetime) and lifetime in 1..@admin_max_lifetime,
      do: raise(ArgumentError, "lifetime must be 1..#{@admin_max_lifetime} s: the edge refuses longer")

    if act == :revoke and !is_binary(opts[:sid]), do: raise(ArgumentError, "revoke needs sid:")

    # A random jti makes each token single-use for revocations (the edge refuses a replay).
    jti = Base.url_encode64(:crypto.strong_rand_bytes(12), padding: false)

    claims =
      for {name, value} <- [{"sid", opts[:sid]}, {"except", opts[:except]}], value != nil,
          into: %{"sub" => sub, "act" => Atom.to_string(act), "jti" => jti},
          do: {name, value}

    directive("edge-admin+jwt", claims, keys, Keyword.put(opts, :lifetime, lifetime))
  end

  @doc """
  Calls the admin API at `edge_url` (the app's public URL) with OTP's `:httpc` (list
  `:inets` and `:ssl` in `extra_applications`). Returns `{:ok, status, body}`, e.g.
  `{:ok, 200, %{"revoked" => 1}}` or `{:ok, 404, %{"error" => …}}`, or `{:error, reason}`.
  Takes `admin_token/4`'s options and `timeout:` (ms, default 10 000).
  """
  def admin_call(edge_url, sub, act, keys, opts \\ []) do
    token = admin_token(sub, act, keys, opts)
    url = String.to_charlist(String.trim_trailing(edge_url, "/") <> "/__edge/admin")
    request = {url, [{~c"authorization", String.to_charlist("Bearer " <> token)}], ~c"text/plain", ""}
    http = [timeout: Keyword.get(opts, :timeout, 10_000)] ++ tls(url)

    with {:ok, {{_version, status, _reason}, _headers, body}} <-
           :httpc.request(:post, request, http, body_format: :binary),
         {:ok, map} when is_map(map) <- json(opts).decode(body) do
      {:ok, status, map}
    else
      {:error, reason} -> {:error, reason}
      _ -> {:error, :bad_answer}
    end
  end

  # Before OTP 26, :httpc does not check the server's certificate unless told to; the
  # bearer token must reach only the real edge.
  defp tls(~c"https:" ++ _) do
    [ssl: [verify: :verify_peer, cacerts: :public_key.cacerts_get(),
           customize_hostname_check: [match_fun: :public_key.pkix_verify_hostname_match_fun(:https)]]]
  end

  defp tls(_url), do: []

  defp directive(typ, claims, [{kid, key} | _], opts) do
    lifetime = Keyword.get(opts, :lifetime, 120)

    unless is_integer(lifetime) and lifetime in 1..@directive_max_lifetime,
      do: raise(ArgumentError, "lifetime must be 1..#{@directive_max_lifetime} s: the edge refuses longer")

    json = json(opts)
    now = now(opts)
    payload = Map.merge(%{"aud" => @edge_audience, "iat" => now, "exp" => now + lifetime}, claims)
    header = %{"alg" => "HS256", "typ" => typ, "kid" => kid}
    input = b64(json.encode!(header)) <> "." <> b64(json.encode!(payload))
    input <> "." <> b64(hmac(key, input))
  end

  # The key named by `kid`; a token without `kid`, or naming none of ours, is tried
  # against each key (all are ours and trusted alike). A non-string kid is malformed.
  defp candidates(keys, nil), do: {:ok, keys}

  defp candidates(keys, kid) when is_binary(kid) do
    case Enum.filter(keys, fn {id, _} -> id == kid end) do
      [] -> {:ok, keys}
      named -> {:ok, named}
    end
  end

  defp candidates(_keys, _kid), do: :error

  # Constant-time compare: no timing oracle for forging a MAC byte by byte. The length
  # check first is safe (the length is public) and hash_equals requires equal sizes.
  defp mac_ok?({_kid, key}, input, mac),
    do: byte_size(mac) == 32 and :crypto.hash_equals(hmac(key, input), mac)

  defp claims_ok?(claims, audience, now) when is_map(claims) do
    with exp when is_number(exp) <- claims["exp"],
         iat when is_number(iat) <- claims["iat"] do
      {exp, iat} = {trunc(exp), trunc(iat)}

      claims["iss"] == @issuer and
        audience_ok?(claims["aud"], audience) and
        # The identity: without a string sub and sid there is nobody to trust.
        is_binary(claims["sub"]) and is_binary(claims["sid"]) and
        # Expired (beyond the skew) or issued in the future: a replay or a bad clock.
        now < exp + @skew and iat <= now + @skew and nbf_ok?(claims["nbf"], now) and
        exp - iat <= @assertion_max_lifetime
    else
      _ -> false
    end
  end

  defp claims_ok?(_claims, _audience, _now), do: false

  # `aud` is ours, or a list of strings containing ours.
  defp audience_ok?(aud, audience) when is_binary(aud), do: aud == audience

  defp audience_ok?(auds, audience) when is_list(auds),
    do: Enum.all?(auds, &is_binary/1) and audience in auds

  defp audience_ok?(_aud, _audience), do: false

  # The edge sets no `nbf`; if one is present, honour it like any JWT library does.
  defp nbf_ok?(nil, _now), do: true
  defp nbf_ok?(nbf, now) when is_number(nbf), do: trunc(nbf) <= now + @skew
  defp nbf_ok?(_nbf, _now), do: false

  defp decode_part(part, json) do
    with {:ok, bytes} <- Base.url_decode64(part, padding: false),
         {:ok, map} when is_map(map) <- json.decode(bytes) do
      {:ok, map}
    else
      _ -> :error
    end
  end

  defp hmac(key, data), do: :crypto.mac(:hmac, :sha256, key, data)
  defp b64(data), do: Base.url_encode64(IO.iodata_to_binary(data), padding: false)
  defp now(opts), do: Keyword.get_lazy(opts, :now, fn -> System.os_time(:second) end)

  defp json(opts),
    do: Keyword.get_lazy(opts, :json, fn -> Application.get_env(:edge_session, :json, Jason) end)
end
