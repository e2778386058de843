defmodule EdgeSession do
  @moduledoc """
  edge-session origin kit for Elixir: verify the `X-Edge-Assertion` the edge adds to
  every identified request, and sign the `X-Edge-Login` / `X-Edge-Logout` /
  `X-Edge-Step-Up` directives the edge applies (docs/design.md §4), call the edge's admin API (`admin_token/4`,
  `admin_call/5`), and read the security events the edge POSTs to the operator's webhook
  (`parse_event/2`). Only OTP's `:crypto` is needed (and `:inets` for `admin_call/5`); JSON
  goes through a
  module with `encode!/1` and `decode/1` (Jason by default: a Phoenix app has it; pass
  `json: MyAdapter` or set `config :edge_session, json: MyAdapter` otherwise).

  Secrets use the edge's format `kid:secret[,kid:secret…]`: the first signs, all
  verify, and the HMAC key is the UTF-8 text of `secret` as written.

      keys = EdgeSession.assertion_keys()   # ORIGIN_SECRET, EDGE_JWKS_URL, EDGE_JWKS
      claims = EdgeSession.verify_assertion(header_value, keys)   # map or nil
      login = EdgeSession.login_directive("ada", EdgeSession.directive_keys(), nonce: request_nonce, remember: true)

  Assertions are verified with `assertion_keys/1`: the `ORIGIN_SECRET` ring for HS256,
  the edge's JWKS (`EDGE_JWKS_URL`, fetched, or `EDGE_JWKS`) for ES256, or both during a
  switch-over; a ring from `parse_keys/1` still verifies HS256 alone. Directives are
  signed with `directive_keys/0` (`DIRECTIVE_SECRET`, else `ORIGIN_SECRET`) and admin
  tokens with `admin_keys/0` (`ADMIN_SECRET`, else `ORIGIN_SECRET`), the rings the edge
  verifies them with.
  """

  require Logger

  @issuer "edge-session"
  @edge_audience "edge-session"
  # Clocks of edge and origin may disagree by this much (the edge allows the same).
  @skew 30
  # The edge issues assertions for 60 s; anything claiming longer was not made by it.
  @assertion_max_lifetime 60
  # The edge signs an event again at each webhook delivery attempt, valid 300 s: a captured
  # delivery replayed later is refused. (A redelivery, same jti, can come for up to a day.)
  @event_webhook_lifetime 300
  # A queue message is signed for 4 days (a Cloudflare Queue's default retention), so a
  # consumer that fell behind still verifies it; only `queue: true` accepts that much, so a
  # queue message replayed to a webhook is refused.
  @event_queue_lifetime 4 * 24 * 3600
  @event_type "edge-event+jwt"
  # An event's optional detail, each checked by detail_ok?/2 when present.
  @event_detail ~w(revoked by previous action skipped)
  # The edge's rule for a sub it carries (it goes into a header): 1 to 256 UTF-8 bytes.
  @max_sub_bytes 256
  # The edge refuses directives whose exp - iat exceeds 5 minutes.
  @directive_max_lifetime 300
  # The edge refuses admin tokens whose exp - iat is longer.
  @admin_max_lifetime 60
  # The edge's bound: far above any assertion, and it caps the work an unauthenticated
  # header can cause before its MAC is checked.
  @max_token_len 8192

  # ORIGIN_SECRET's rules, the edge's (KeyRing::parse): a bad ring fails at startup, not
  # as a signature that never verifies.
  @max_keys 8
  @secret_chars 32..512
  @kid ~r/\A[A-Za-z0-9_-]{1,16}\z/
  # Unicode's White_Space property, exactly (what the edge trims): String.trim/1 has its
  # own list, and the edge would disagree with it on some ring.
  @white_space "\\x{9}-\\x{d}\\x{20}\\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"
  @around_white_space Regex.compile!("\\A[#{@white_space}]+|[#{@white_space}]+\\z", "u")
  @white_space_or_control Regex.compile!("[#{@white_space}\\p{Cc}]", "u")
  @base64url ~r/\A[A-Za-z0-9_-]*\z/
  # A session id (the edge's family id, `sid`): 16 bytes as canonical base64url, 22
  # characters whose last holds 2 bits and 4 zero bits (the Rust crate's FamilyId::parse).
  @session_id ~r/\A[A-Za-z0-9_-]{21}[AQgw]\z/
  # A login's or step-up's `amr` as the edge takes it (RFC 8176 method names): 1 to 8 of these.
  @max_amr 8
  @amr_name ~r/\A[A-Za-z0-9_.:-]{1,16}\z/

  defmodule Keys do
    @moduledoc """
    What verifies assertions (`EdgeSession.assertion_keys/1`): `ring`, the
    `ORIGIN_SECRET` ring for HS256 (or `nil`); `jwks`, the usable keys of a static
    `EDGE_JWKS` (or `nil`); `jwks_url`, the `EDGE_JWKS_URL` whose keys
    `EdgeSession.JWKS.Cache` fetches (or `nil`). Build it with
    `EdgeSession.assertion_keys/1`, which checks each. Inspecting it never shows the ring.
    """
    # A crash report or an IEx session that prints the keys must not print the secrets.
    @derive {Inspect, except: [:ring]}
    defstruct ring: nil, jwks: nil, jwks_url: nil
  end

  defmodule Request do
    @moduledoc """
    One request as the edge forwarded it (`EdgeSession.request/3`): `user`, the verified
    claims or `nil`; `nonce`, its `X-Edge-Nonce`; `state`, its `X-Edge-Session-State`.
    The edge strips that header from every client request and sets it itself: on an
    identified request it is the assertion's state; on an anonymous one, why the edge
    refused the edge cookie it carried (`EdgeSession.refusal/1`). It is absent (`nil`)
    when there was no edge cookie. `resp_headers` are the directives that
    `EdgeSession.put_login/4`, `put_logout/3`, `put_adopt/4` and `put_step_up/3` put on
    its response, `[{name, value}]` as Plug's: copy them onto the response.
    """
    # adopted: the login among resp_headers came from put_adopt/4; logged_out: put_logout/3 was called.
    defstruct user: nil, nonce: nil, state: nil, resp_headers: [], adopted: false, logged_out: false
  end

  @doc """
  `kid:secret,kid:secret` → `[{kid, secret}]`, signing key first; the HMAC key is the
  secret's UTF-8 bytes. Raises `ArgumentError` naming the problem, the variable (`name`)
  and the key's position, never a secret, nor a kid (in a malformed ring it may be a
  piece of a secret).
  """
  def parse_keys(text, name \\ "ORIGIN_SECRET")

  def parse_keys(text, name) when is_binary(text) do
    unless String.valid?(text), do: raise(ArgumentError, "#{name} is not UTF-8")

    pairs =
      for pair <- String.split(text, ","), pair = Regex.replace(@around_white_space, pair, ""), pair != "",
        do: pair

    if pairs == [], do: raise(ArgumentError, "#{name} holds no kid:secret pair")
    if length(pairs) > @max_keys, do: raise(ArgumentError, "#{name} holds more than #{@max_keys} keys")

    keys = for {pair, i} <- Enum.with_index(pairs, 1), do: parse_key(pair, "#{name} key ##{i}")
    kids = for {kid, _} <- keys, do: kid

    for {kid, i} <- Enum.with_index(kids, 1), kid in Enum.take(kids, i - 1),
        do: raise(ArgumentError, "#{name} key ##{i} reuses an earlier key id")

    keys
  end

  def parse_keys(_text, name), do: raise(ArgumentError, "#{name} is not set")

  @doc """
  The ring that signs login, logout and step-up directives (`login_directive/3`,
  `logout_directive/2`, `step_up_directive/3`, `put_login/4`, `put_logout/3`,
  `put_step_up/3`, `adopt/4`, `put_adopt/4`):
  `DIRECTIVE_SECRET`, else (unset or empty) `ORIGIN_SECRET`, as the edge verifies them.
  Read from the environment on each call; a malformed ring raises `ArgumentError`
  naming its variable, as `parse_keys/2` does.
  """
  def directive_keys, do: job_keys("DIRECTIVE_SECRET")

  @doc """
  The ring that signs admin tokens (`admin_token/4`, `admin_call/5`, `list_sessions/4`,
  `revoke_session/5`, `revoke_all/4`): `ADMIN_SECRET`, else (unset or empty)
  `ORIGIN_SECRET`, as the edge verifies them. Like `directive_keys/0`.
  """
  def admin_keys, do: job_keys("ADMIN_SECRET")

  # A verify-only service (EDGE_JWKS_URL or EDGE_JWKS, no ORIGIN_SECRET) starts fine, and
  # says what is missing only when it is asked to sign.
  defp job_keys(name) do
    cond do
      (secret = System.get_env(name)) not in [nil, ""] -> parse_keys(secret, name)
      (secret = System.get_env("ORIGIN_SECRET")) not in [nil, ""] -> parse_keys(secret)
      true -> raise ArgumentError, signing_unset(name)
    end
  end

  defp signing_unset(name), do: "#{name} is not set (nor ORIGIN_SECRET): this service only verifies identities"

  @doc """
  What verifies `X-Edge-Assertion` (the `keys` of `identify/3`, `verify_assertion/3`,
  `request/3`): an `EdgeSession.Keys`. Each option given (even `nil`) replaces its
  variable, read from the environment otherwise; an empty value is unset:

    * `origin_secret:` (`ORIGIN_SECRET`): the ring that verifies HS256 assertions, as
      text (`parse_keys/1` reads it) or a ring it returned;
    * `jwks_url:` (`EDGE_JWKS_URL`): the edge's `https://<app>/__edge/jwks.json`, whose
      keys verify ES256 assertions. It must be `https:`, or `http:` to a loopback host
      (`localhost`, `127.0.0.0/8`, `[::1]`). Fetched on the first ES256 assertion, kept
      5 minutes, fetched again for a `kid` it lacks at most once every 30 s; a failed
      fetch logs `edge_jwks_unavailable` and keeps the keys it had, for 24 h at most
      after the last good fetch, and a 404 drops them at once (`EdgeSession.JWKS.Cache`);
    * `jwks:` (`EDGE_JWKS`): the JWKS itself, as its JSON text or the map it decodes to;
    * `json:` decodes `EDGE_JWKS` and the fetched JWKS (default Jason).

  Each algorithm verifies with its own keys only: HS256 with the ring, ES256 with the
  JWKS (never a public key as an HMAC secret). Configure both while the edge moves to
  `ASSERTION_ALG=ES256`, then drop `ORIGIN_SECRET` from services that only verify.

  Raises `ArgumentError`, naming the variable and never a secret, when none of the three
  is set, when both `EDGE_JWKS` and `EDGE_JWKS_URL` are (which should win is not
  guessed), for a malformed ring, for an `EDGE_JWKS` that is not a JWKS, has no usable key
  or has a private key (`d`), and for an `EDGE_JWKS_URL` not allowed above. Nothing is
  fetched here.
  """
  def assertion_keys(opts \\ []) do
    {secret, jwks, url} =
      {setting(opts, :origin_secret, "ORIGIN_SECRET"), setting(opts, :jwks, "EDGE_JWKS"),
       setting(opts, :jwks_url, "EDGE_JWKS_URL")}

    cond do
      secret == nil and jwks == nil and url == nil ->
        raise ArgumentError,
              "none of ORIGIN_SECRET, EDGE_JWKS_URL and EDGE_JWKS is set: ORIGIN_SECRET verifies HS256 assertions, " <>
                "EDGE_JWKS_URL (or EDGE_JWKS) the edge's ES256 ones"

      jwks != nil and url != nil ->
        raise ArgumentError, "EDGE_JWKS and EDGE_JWKS_URL are both set: set one"

      true ->
        %Keys{
          ring: secret && ring(secret),
          jwks: jwks && EdgeSession.JWKS.parse!(jwks, json(opts)),
          jwks_url: url && EdgeSession.JWKS.check_url!(url)
        }
    end
  end

  defp setting(opts, key, variable) do
    value = if Keyword.has_key?(opts, key), do: opts[key], else: System.get_env(variable)
    if value in [nil, ""], do: nil, else: value
  end

  defp ring([{kid, _secret} | _] = ring) when is_binary(kid), do: ring
  defp ring(text), do: parse_keys(text)

  defp parse_key(pair, which) do
    case String.split(pair, ":", parts: 2) do
      [kid, secret] ->
        unless Regex.match?(@kid, kid), do: raise(ArgumentError, "#{which} has a key id outside [A-Za-z0-9_-]{1,16}")

        # Unicode scalar values, as the edge counts (String.length/1 counts graphemes).
        unless length(String.to_charlist(secret)) in @secret_chars,
          do: raise(ArgumentError, "#{which}: the secret must be #{@secret_chars.first} to #{@secret_chars.last} characters")

        if Regex.match?(@white_space_or_control, secret),
          do: raise(ArgumentError, "#{which}: the secret contains whitespace or control characters")

        {kid, secret}

      _ ->
        raise ArgumentError, "#{which} has no ':' between key id and secret"
    end
  end

  @doc """
  The claims of a valid assertion, or `nil`; `check_assertion/3` says why not. `keys`:
  `assertion_keys/1`'s, or a ring from `parse_keys/1` (HS256 only). Options:
  `audience:` (default `"origin"`, the edge's `ORIGIN_AUDIENCE`), `json:`, `now:` (Unix
  seconds, default the system clock; tests pass their own, and the JWKS cache's 5
  minutes, 30 s and 24 h are counted in it).
  """
  def verify_assertion(token, keys, opts \\ []) do
    case check_assertion(token, keys, opts) do
      {:ok, claims} -> claims
      {:error, _reason} -> nil
    end
  end

  @doc """
  `{:ok, claims}` for a valid assertion, else `{:error, reason}`. The rules are the edge's
  own, as every origin package applies them (packages/conformance/vectors.json): `alg`
  exactly HS256 (the ring's MAC, compared in constant time) or ES256 (the JWKS's ECDSA,
  64 bytes of r || s), each with its own keys only; `typ` JWT, no `crit`; the key
  named by `kid`, or each key without one; `aud`, `iss`, `exp`, `iat`, `nbf` with 30 s of
  skew and at most 60 s of life; `sub`, `sid` and `state` strings, `ctx` a map,
  `context_changed` and `auth_time` NumericDates, `amr` a list of strings.

  `claims["context_changed"]` is set when the edge runs `ON_CONTEXT_CHANGE=flag` and the
  session refreshed from another country, network (ASN) or browser family: the time of
  that change, in whole Unix seconds; else `nil`. A signal, not a verdict (a phone changes
  networks): `signed_in_within?/3` is already `false` when the change came after
  `auth_time`, and `put_step_up/3` records the password asked again in this session (its
  `auth_time` moves past the change).

  `claims["auth_time"]` is when the user logged in (whole Unix seconds; `nil` only from
  an edge older than the claim), `claims["amr"]` how (RFC 8176 names, as the login said),
  else `nil`: `signed_in_within?/3` reads both.
  """
  def check_assertion(token, keys, opts \\ [])

  def check_assertion(token, keys, opts) when is_binary(token) do
    with {:ok, claims} <- verify_jws(token, keys, "jwt", @assertion_max_lifetime, opts),
         :ok <- check_assertion_claims(claims),
         do: {:ok, claims |> whole_seconds("context_changed") |> whole_seconds("auth_time")}
  end

  def check_assertion(_token, _keys, _opts), do: {:error, "no token"}

  @doc """
  A security event the edge POSTed to the operator's webhook (`EVENTS_URL`), verified:
  `{:ok, event}`, a map with `"jti"`, `"type"`, `"sub"`, `"sid"`, `"time"`, `"device"`,
  and `"revoked"`, `"by"`, `"previous"`, `"action"`, `"skipped"` when its type has them;
  else `{:error, reason}`, for anything the edge did not sign with `EVENTS_SECRET` for
  this audience in the last 5 minutes. `body` is the request's raw body.

  `EVENTS_SECRET` and `ORIGIN_AUDIENCE` (default `"origin"`) are read from the
  environment on each call, as `EdgeSession.Plug` reads `ORIGIN_SECRET`; an unset or
  malformed `EVENTS_SECRET` raises `ArgumentError`. `parse_event/3` takes the ring
  instead. Options: `audience:`, `queue:`, `json:`, `now:`. `queue: true` verifies the
  body of a message taken from the `EVENTS` Cloudflare Queue, which the edge signs for 4
  days; without it such a message is refused (one replayed to a webhook). The rules are
  the edge's `SecurityEvent::verify` (`verify_queued` with `queue: true`).
  """
  def parse_event(body, opts \\ [])

  def parse_event(body, [{kid, _secret} | _] = keys) when is_binary(kid), do: parse_event(body, keys, [])

  def parse_event(body, opts) when is_list(opts) do
    keys = parse_keys(System.get_env("EVENTS_SECRET"), "EVENTS_SECRET")
    audience = opts[:audience] || System.get_env("ORIGIN_AUDIENCE", "origin")
    parse_event(body, keys, Keyword.put(opts, :audience, audience))
  end

  @doc """
  `parse_event/2` with `keys`, the ring of `EVENTS_SECRET`
  (`parse_keys(System.fetch_env!("EVENTS_SECRET"), "EVENTS_SECRET")`), never
  `ORIGIN_SECRET`'s: a receiver holding it can verify events and mint nothing. Options as
  `parse_event/2`, but `audience:` defaults to `"origin"`, as in `verify_assertion/3`.
  """
  # Events are HS256 with EVENTS_SECRET only: never ES256, never the assertion keys.
  def parse_event(_body, %Keys{}, _opts),
    do: raise(ArgumentError, ~s{parse_event/3 takes the EVENTS_SECRET ring (parse_keys(text, "EVENTS_SECRET")), not assertion keys})

  def parse_event(body, keys, opts) when is_binary(body) do
    # Trimmed as the edge trims (Unicode White_Space); bytes that are not UTF-8 are no JWS.
    token = if String.valid?(body), do: Regex.replace(@around_white_space, body, ""), else: ""
    # Only `true` widens the window: a stray truthy value keeps the webhook's.
    max_lifetime = if opts[:queue] == true, do: @event_queue_lifetime, else: @event_webhook_lifetime

    with {:ok, claims} <- verify_jws(token, keys, @event_type, max_lifetime, opts),
         :ok <- check_event_claims(claims) do
      # Only the claims an event has: iss, aud and the times were checked, and a claim this
      # version does not know is dropped (the edge's own parser does the same).
      detail = for name <- @event_detail, claims[name] != nil, into: %{}, do: {name, claims[name]}

      event =
        claims |> Map.take(~w(jti type sub sid time)) |> Map.put("device", Map.get(claims, "device", %{}))

      {:ok, Map.merge(event, detail)}
    end
  end

  def parse_event(_body, _keys, _opts), do: {:error, "no body"}

  @doc """
  Whether the user of `claims` (`verify_assertion/3`'s, the plug's
  `conn.assigns.edge_session`) signed in (`"auth_time"`) at most `max_age` seconds ago,
  and the session has not refreshed from another context since (`"context_changed"`):
  what a sensitive action asks. `false` for `nil` claims or no `auth_time`, and for an
  `auth_time` more than 30 s ahead of the clock (the assertion's own clock skew): nothing
  the edge signs says so, and an origin whose clock lags must not count a future
  `auth_time` as recent for longer than `max_age`. Options:
  `now:` (Unix seconds, default the system clock). `EdgeSession.Plug.require_recent_auth/2`
  answers the request when it is `false`; ask for the password again, then
  `put_step_up/3` moves the session's `auth_time` to now.
  """
  def signed_in_within?(claims, max_age, opts \\ [])

  def signed_in_within?(%{"auth_time" => auth_time} = claims, max_age, opts) when is_integer(auth_time) do
    changed = claims["context_changed"]
    now = now(opts)
    # 30 s of clock skew either way, as for iat and exp; further ahead is no proof.
    auth_time <= now + @skew and now - auth_time <= max_age and (changed == nil or changed <= auth_time)
  end

  def signed_in_within?(_claims, _max_age, _opts), do: false

  @doc """
  Who a request is: the claims of its assertion (`token`, the `X-Edge-Assertion` value),
  or `nil`. Like `verify_assertion/3`, but a token that is present and refused is
  logged (`edge_assertion_rejected`): anonymous, never an exception.
  """
  def identify(token, keys, opts \\ [])
  def identify(token, _keys, _opts) when token in [nil, ""], do: nil

  def identify(token, keys, opts) do
    case check_assertion(token, keys, opts) do
      {:ok, claims} ->
        claims

      {:error, reason} ->
        Logger.warning("edge_assertion_rejected: #{reason}")
        nil
    end
  end

  @doc """
  One request as the edge forwarded it, from `header`, a function from a lower-case
  header name to its value (or `nil`): an `EdgeSession.Request`. Options as `identify/3`.
  """
  def request(header, keys, opts \\ []) when is_function(header, 1) do
    %Request{
      user: identify(header.("x-edge-assertion"), keys, opts),
      nonce: header.("x-edge-nonce"),
      state: header.("x-edge-session-state")
    }
  end

  @doc """
  `request/3` configured from the environment, read on each call (what `EdgeSession.Plug`
  does): `assertion_keys/1` (`ORIGIN_SECRET`, `EDGE_JWKS_URL`, `EDGE_JWKS`) and
  `ORIGIN_AUDIENCE` (default `"origin"`). Options: `audience:`, `json:`, `now:`.
  """
  def request_from_env(header, opts \\ []) when is_function(header, 1) do
    keys = assertion_keys(Keyword.take(opts, [:json]))
    audience = opts[:audience] || System.get_env("ORIGIN_AUDIENCE", "origin")
    request(header, keys, Keyword.put(opts, :audience, audience))
  end

  @doc """
  Why the edge refused an anonymous request's edge cookie (`"ended"`, `"expired"`,
  `"reused"`, `"device_bound"`, `"invalid"`), else `nil`.
  """
  def refusal(%Request{user: nil, state: state}), do: state
  def refusal(%Request{}), do: nil

  @doc """
  The migration bridge: for a request (`request/3`) with no edge identity and no edge
  cookie, that came through the edge and still carries the app's own session for
  `legacy_sub`, the `X-Edge-Login` value that logs that user in at the edge; else `nil`
  (also on a request that `put_logout/3` returned). Clear the legacy session in the
  response that carries it. Options as `login_directive/3` (its `nonce:` is the request's).
  """
  def adopt(request, legacy_sub, keys, opts \\ [])

  # A logout on this request wins: a login beside it would log the user straight back in.
  def adopt(%Request{logged_out: true}, _legacy_sub, _keys, _opts), do: nil

  def adopt(%Request{user: nil} = request, legacy_sub, keys, opts) when is_binary(legacy_sub) and legacy_sub != "" do
    cond do
      # The edge refused this jar's edge cookie (logged out everywhere, revoked, reused,
      # or a device-bound session's cookie without its key). The legacy session beside it
      # is from the same jar: logging it in would undo that refusal.
      request.state != nil ->
        Logger.warning("edge_adopt_refused: refusal=#{request.state}")
        nil

      request.nonce in [nil, ""] ->
        Logger.warning("edge_adopt_no_nonce: no X-Edge-Nonce, the request did not come through the edge")
        nil

      true ->
        # The app's old session is no proof of presence now: auth_time 0, never recent.
        login_directive(legacy_sub, keys, opts |> Keyword.put(:nonce, request.nonce) |> Keyword.put(:auth_time, 0))
    end
  end

  def adopt(%Request{}, _legacy_sub, _keys, _opts), do: nil

  @doc """
  `adopt/4` on the request itself: `{true, request}` with the login directive in its
  `resp_headers`, or `{false, request}`. A later `put_logout/3` takes that login back.
  """
  def put_adopt(%Request{} = request, legacy_sub, keys, opts \\ []) do
    case adopt(request, legacy_sub, keys, opts) do
      nil ->
        {false, request}

      login ->
        {true, %{request | resp_headers: put_header(request.resp_headers, "x-edge-login", login), adopted: true}}
    end
  end

  @doc """
  `login_directive/3` answering `request`, in its `resp_headers`. It replaces a login that
  `put_adopt/4` put there, and a later `put_logout/3` keeps it (an account switch).
  Options as `login_directive/3`.
  """
  def put_login(%Request{} = request, sub, keys, opts \\ []) do
    login = login_directive(sub, keys, Keyword.put(opts, :nonce, request.nonce))
    # The app's own login replaced the bridge's: put_logout/3 must no longer take it back.
    %{request | resp_headers: put_header(request.resp_headers, "x-edge-login", login), adopted: false}
  end

  @doc """
  `logout_directive/2` answering `request`, in its `resp_headers`. It takes back a login
  that `put_adopt/4` put there (an explicit `put_login/4` stays: an account switch), and
  `adopt/4` and `put_adopt/4` do nothing on the request it returns. Options as
  `logout_directive/2`, but `scope: "everywhere"` without `sub:` ends every session of
  the request's user (on an anonymous request it raises `ArgumentError`, "scope
  everywhere needs sub").
  """
  def put_logout(%Request{} = request, keys, opts \\ []) do
    opts =
      case {opts[:scope], opts[:sub], request.user} do
        {"everywhere", nil, %{"sub" => sub}} -> Keyword.put(opts, :sub, sub)
        _ -> opts
      end

    logout = logout_directive(keys, Keyword.put(opts, :nonce, request.nonce))
    # The edge applies logout then login: the bridge's login would undo this logout.
    headers = if request.adopted, do: List.keydelete(request.resp_headers, "x-edge-login", 0), else: request.resp_headers
    %{request | resp_headers: put_header(headers, "x-edge-logout", logout), adopted: false, logged_out: true}
  end

  defp put_header(headers, name, value), do: List.keystore(headers, name, 0, {name, value})

  @doc """
  Value for the `X-Edge-Login` response header: the edge starts a session for `sub`.
  `keys`: `directive_keys/0`. `nonce:` (required) is the `X-Edge-Nonce` header of the
  request this response answers. Options: `remember:` (default false), `ctx:` (a map,
  ≤ 1 KiB as JSON), `amr:` (how the user proved who they are, RFC 8176: `["pwd"]`,
  `["pwd", "otp"]`…; 1 to 8 names of `[A-Za-z0-9_.:-]{1,16}`, else `ArgumentError`),
  `lifetime:` (seconds, default 120), `json:`, `now:`.
  """
  def login_directive(sub, keys, opts \\ []) when is_binary(sub) do
    amr = amr!(opts[:amr])
    claims = %{"sub" => sub, "remember" => Keyword.get(opts, :remember, false), "nonce" => nonce!(opts)}
    claims = if ctx = opts[:ctx], do: Map.put(claims, "ctx", ctx), else: claims
    claims = if amr, do: Map.put(claims, "amr", amr), else: claims
    # When the user proved who they are, if not now (the bridge's adoption: 0).
    claims = if auth_time = opts[:auth_time], do: Map.put(claims, "auth_time", auth_time), else: claims
    directive("edge-login+jwt", claims, keys, opts)
  end

  @doc """
  The name of the step-up directive's response header, `"x-edge-step-up"` (lower case, as
  Plug's headers are): the edge reads `X-Edge-Step-Up` in any case.
  """
  def step_up_header, do: "x-edge-step-up"

  @doc """
  Value for the `X-Edge-Step-Up` response header (`step_up_header/0`): `sub`, the user of
  the request's session, just proved who they are again (a password re-entered, a second
  factor). The edge moves that session's `auth_time` to now, sets its `amr`, and rotates
  its credential in place (the same `sid`); it ignores a step-up on an anonymous request
  or one whose `sub` is not the session's user, so a step-up never logs anyone in.
  `keys`: `directive_keys/0`. `nonce:` (required) is the request's `X-Edge-Nonce`.
  Options: `amr:` (as `login_directive/3`'s; a bad one raises `ArgumentError`),
  `lifetime:`, `json:`, `now:`. `put_step_up/3` fills in `sub` and `nonce` from the request.
  """
  def step_up_directive(sub, keys, opts \\ [])

  def step_up_directive(sub, keys, opts) when is_binary(sub) and sub != "" do
    amr = amr!(opts[:amr])
    claims = %{"sub" => sub, "nonce" => nonce!(opts)}
    claims = if amr, do: Map.put(claims, "amr", amr), else: claims
    directive("edge-step-up+jwt", claims, keys, opts)
  end

  def step_up_directive(_sub, _keys, _opts), do: raise(ArgumentError, "a step-up needs a non-empty sub")

  @doc """
  `step_up_directive/3` for the request's user, answering `request`, in its
  `resp_headers`: call it once the user re-entered their password (`amr: ["pwd"]`), and
  `signed_in_within?/3` passes from the next request on. On an anonymous request it
  raises `ArgumentError` and signs nothing: a step-up is not a login (`put_login/4` is).
  Options as `step_up_directive/3`.
  """
  def put_step_up(request, keys, opts \\ [])

  def put_step_up(%Request{user: %{"sub" => sub}} = request, keys, opts) do
    step_up = step_up_directive(sub, keys, Keyword.put(opts, :nonce, request.nonce))
    %{request | resp_headers: put_header(request.resp_headers, step_up_header(), step_up)}
  end

  def put_step_up(%Request{}, _keys, _opts),
    do: raise(ArgumentError, "put_step_up needs a signed-in request: use put_login/4 for an anonymous one")

  @doc """
  Value for the `X-Edge-Logout` response header, signed with `keys` (`directive_keys/0`).
  `nonce:` (required) is the request's `X-Edge-Nonce`. Options: `scope:` (`"session"`,
  the default, or `"everywhere"`, which needs `sub:`, the user whose sessions all end:
  without it this raises `ArgumentError`, "scope everywhere needs sub", since the edge
  would refuse the directive), `sub:`, `lifetime:`, `json:`, `now:`. `put_logout/3`
  fills `sub:` in from the request's user.
  """
  def logout_directive(keys, opts \\ []) do
    scope = Keyword.get(opts, :scope, "session")

    if scope == "everywhere" and not (is_binary(opts[:sub]) and opts[:sub] != ""),
      do: raise(ArgumentError, "scope everywhere needs sub")

    claims = %{"scope" => scope, "nonce" => nonce!(opts)}
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

  # A login's or step-up's `amr`, or nil. The edge would ignore the whole directive
  # (directive_rejected): refused here, by name.
  defp amr!(amr) do
    unless amr == nil or
             (is_list(amr) and length(amr) in 1..@max_amr and Enum.all?(amr, &(is_binary(&1) and Regex.match?(@amr_name, &1)))),
           do: raise(ArgumentError, "amr must be 1 to #{@max_amr} names of [A-Za-z0-9_.:-]{1,16}")

    amr
  end

  # The edge ignores a directive that does not echo the X-Edge-Nonce of the request it
  # answers, so a cached or captured response can never log anyone else in.
  defp nonce!(opts) do
    case opts[:nonce] do
      nonce when is_binary(nonce) and nonce != "" -> nonce
      _ -> raise ArgumentError, "nonce: is required (the request's X-Edge-Nonce header)"
    end
  end

  @doc """
  Bearer token for `POST /__edge/admin`, signed with `keys` (`admin_keys/0`). `act` is
  `:list`, `:revoke` (needs `sid:`) or `:revoke_all` (`except:` a sid to keep). Every
  parameter is a signed claim. Options: `sid:`, `except:`, `lifetime:` (seconds, default
  and at most 60), `json:`, `now:`. A `sid:` or `except:` that is not a session id (22
  characters of canonical base64url) raises `ArgumentError` ("not a session id: …"): the
  edge would refuse the whole token.
  """
  def admin_token(sub, act, keys, opts \\ [])
      when is_binary(sub) and act in [:list, :revoke, :revoke_all] do
    lifetime = Keyword.get(opts, :lifetime, @admin_max_lifetime)

    unless is_integer(lifetime) and lifetime in 1..@admin_max_lifetime,
      do: raise(ArgumentError, "lifetime must be 1..#{@admin_max_lifetime} s: the edge refuses longer")

    if act == :revoke and opts[:sid] == nil, do: raise(ArgumentError, "revoke needs sid:")

    # The edge would refuse the token as a whole (401 invalid token), which reads like a
    # wrong secret: a malformed id is named here instead.
    for given <- [opts[:sid], opts[:except]], given != nil, not (is_binary(given) and Regex.match?(@session_id, given)),
        do: raise(ArgumentError, "not a session id: #{inspect(given)}")

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
  `:inets` and `:ssl` in `extra_applications`). Returns `{:ok, status, body}` or
  `{:error, reason}`:

    * `:list`: `{:ok, 200, %{"sub" => sub, "sessions" => sessions}}`, the user's live
      sessions, oldest first, each `%{"sid", "created_at", "last_seen", "remember",
      "device_bound", "user_agent", "browser", "os", "country"}` (times in Unix seconds;
      the last four may be `nil`). None is marked as the current one: compare `"sid"` with
      the request user's `"sid"`.
    * `:revoke` and `:revoke_all`: `{:ok, 200, %{"revoked" => n, "pending" => n}}`;
      `:revoke` of a session that is not the user's: `{:ok, 404, %{"error" => …}}`.

  A redirect is not followed: it answers `{:error, {:redirect, status}}`.

  `edge_url` is `http(s)://host[:port]`, with an optional trailing `/`: one with a path,
  query, fragment or credentials raises `ArgumentError` before any call, naming the rule
  it broke (never the value). Takes `admin_token/4`'s options (a malformed `sid:` or
  `except:` raises before any call) and `timeout:` (ms, default 10 000).
  """
  def admin_call(edge_url, sub, act, keys, opts \\ []) do
    url = String.to_charlist(admin_endpoint!(edge_url))
    token = admin_token(sub, act, keys, opts)
    request = {url, [{~c"authorization", String.to_charlist("Bearer " <> token)}], ~c"text/plain", ""}
    # The admin API never redirects, and :httpc would follow one with the token: a 3xx is
    # an error, the token goes nowhere else.
    http = [timeout: Keyword.get(opts, :timeout, 10_000), autoredirect: false] ++ tls_options(url)

    with {:ok, {{_version, status, _reason}, _headers, body}} <-
           :httpc.request(:post, request, http, body_format: :binary),
         :ok <- if(status in 300..399, do: {:error, {:redirect, status}}, else: :ok),
         {:ok, map} when is_map(map) <- json(opts).decode(body) do
      {:ok, status, map}
    else
      {:error, reason} -> {:error, reason}
      _ -> {:error, :bad_answer}
    end
  end

  @doc """
  The user's live sessions, oldest first: `{:ok, sessions}`, each a map with `"sid"`,
  `"created_at"`, `"last_seen"` (Unix seconds), `"remember"`, `"device_bound"`,
  `"user_agent"`, `"browser"`, `"os"` and `"country"` (the last four may be `nil`;
  browser and OS are read from the user agent): the same list every
  package's client returns. The edge's refusal is `{:error, {status, body}}`; a failed
  call `{:error, reason}`. Options as `admin_call/5`.
  """
  def list_sessions(edge_url, sub, keys, opts \\ []) do
    with {:ok, %{"sessions" => sessions}} <- admin_answer(admin_call(edge_url, sub, :list, keys, opts)),
         do: {:ok, sessions}
  end

  @doc """
  Signs one of the user's sessions out: `{:ok, %{"revoked" => n, "pending" => n}}`; a
  session that is not the user's is `{:error, {404, body}}`. A malformed `sid` raises.
  """
  def revoke_session(edge_url, sub, sid, keys, opts \\ []),
    do: admin_answer(admin_call(edge_url, sub, :revoke, keys, Keyword.put(opts, :sid, sid)))

  @doc """
  Signs out every session of the user but `except:` (the current `sid`, for "sign out
  all other devices"; without it, all of them): `{:ok, %{"revoked" => n, "pending" => n}}`.
  """
  def revoke_all(edge_url, sub, keys, opts \\ []), do: admin_answer(admin_call(edge_url, sub, :revoke_all, keys, opts))

  # `edge_url`'s `/__edge/admin`, parsed rather than concatenated: an EDGE_URL with a
  # path, query or credentials would send the bearer token to a path the edge does not
  # answer, which it forwards to the app, authorization included. The rule is the Rust
  # crate's: http(s)://host[:port], an optional trailing slash. A refusal names the rule it
  # broke, never the value: with the arguments swapped, that would be ORIGIN_SECRET.
  defp admin_endpoint!(edge_url) do
    refuse = fn rule ->
      raise ArgumentError,
            "EDGE_URL (edge_url) must be http(s)://host[:port], with no path, query, fragment or credentials: " <> rule
    end

    uri =
      with true <- is_binary(edge_url) and not String.match?(edge_url, ~r/[[:space:][:cntrl:]]/u),
           {:ok, uri} <- URI.new(edge_url),
           do: uri,
           else: (_ -> nil)

    cond do
      uri == nil -> refuse.("it is not a URL")
      uri.scheme not in ["http", "https"] -> refuse.("the scheme is not http or https")
      uri.userinfo != nil -> refuse.("it has credentials")
      uri.host in [nil, ""] -> refuse.("it has no host")
      not is_integer(uri.port) -> refuse.("it is not a URL")
      uri.path not in [nil, "/"] -> refuse.("it has a path")
      uri.query != nil -> refuse.("it has a query")
      uri.fragment != nil -> refuse.("it has a fragment")
      true -> URI.to_string(%URI{uri | path: "/__edge/admin"})
    end
  end

  defp admin_answer({:ok, 200, body}), do: {:ok, body}
  defp admin_answer({:ok, status, body}), do: {:error, {status, body}}
  defp admin_answer({:error, reason}), do: {:error, reason}

  # Before OTP 26, :httpc does not check the server's certificate unless told to; the
  # bearer token must reach only the real edge.
  @doc false
  def tls_options(~c"https:" ++ _) do
    [ssl: [verify: :verify_peer, cacerts: :public_key.cacerts_get(),
           customize_hostname_check: [match_fun: :public_key.pkix_verify_hostname_match_fun(:https)]]]
  end

  def tls_options(_url), do: []

  # Given assertion_keys/1's keys, the ring of ORIGIN_SECRET signs, as a ring from
  # parse_keys/1 did; without one, the call names what is missing.
  defp directive(typ, _claims, %Keys{ring: nil}, _opts),
    do: raise(ArgumentError, signing_unset(if typ == "edge-admin+jwt", do: "ADMIN_SECRET", else: "DIRECTIVE_SECRET"))

  defp directive(typ, claims, %Keys{ring: ring}, opts), do: directive(typ, claims, ring, opts)

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

  # Three parts, each exactly the edge's base64url: the URL alphabet, no padding, no stray
  # bits in the last character (a lenient decoder reads other texts as the same bytes).
  # Returns the signing input and the three parts' bytes.
  defp split(token) do
    with [h64, p64, s64] <- String.split(token, "."),
         {:ok, header} <- base64url(h64),
         {:ok, payload} <- base64url(p64),
         {:ok, mac} <- base64url(s64) do
      {:ok, {h64 <> "." <> p64, header, payload, mac}}
    else
      _ -> {:error, "token malformed"}
    end
  end

  @doc false
  def base64url(text) do
    with true <- Regex.match?(@base64url, text),
         {:ok, bytes} <- Base.url_decode64(text, padding: false),
         true <- b64(bytes) == text do
      {:ok, bytes}
    end
  end

  defp json_object(bytes, json) do
    # A JSON adapter may raise on malformed input; unsigned bytes must not crash the request.
    case String.valid?(bytes) and json.decode(bytes) do
      {:ok, map} when is_map(map) -> {:ok, map}
      _ -> {:error, "token malformed"}
    end
  rescue
    _ -> {:error, "token malformed"}
  end

  # The checks every token from the edge gets (its jws::verify): the size, canonical
  # base64url, the header (`typ` the expected one, given in lower case), the key its kid
  # names, the MAC, `aud` and the times. Claims are read only once the MAC is good.
  defp verify_jws(token, keys, typ, max_lifetime, opts) do
    json = json(opts)

    with :ok <- if(byte_size(token) > @max_token_len, do: {:error, "token too large"}, else: :ok),
         {:ok, {input, header_bytes, payload_bytes, signature}} <- split(token),
         {:ok, header} <- json_object(header_bytes, json),
         :ok <- check_header(header, typ),
         :ok <- check_signature(header, input, signature, keys, opts),
         {:ok, claims} <- json_object(payload_bytes, json),
         :ok <- check_times(claims, Keyword.get(opts, :audience, "origin"), now(opts), max_lifetime),
         do: {:ok, claims}
  end

  # `alg` exactly HS256 or ES256 refuses `none` and every other (RFC 8725 §3.1); which keys
  # each may use is check_signature/5's. `typ` (in any ASCII case, RFC 7515 §4.1.9) keeps a
  # login directive or an event, signed with the same key, from passing as an assertion,
  # and the reverse (RFC 8725 §3.11). A `crit` names extensions we do not implement, so we
  # must refuse it (RFC 7515 §4.1.11).
  defp check_header(header, expected) do
    typ = header["typ"]

    cond do
      header["alg"] not in ["HS256", "ES256"] -> {:error, "alg is not HS256 or ES256"}
      not (is_binary(typ) and String.downcase(typ, :ascii) == expected) -> {:error, "wrong typ"}
      Map.has_key?(header, "crit") -> {:error, "unsupported crit header"}
      true -> :ok
    end
  end

  # Each algorithm with its own keys only, so no key is ever read as the other kind
  # (RFC 8725 §3.1: a public key used as an HMAC secret lets anyone sign): HS256 with the
  # ORIGIN_SECRET ring (or EVENTS_SECRET's, for events), ES256 with the JWKS, which only
  # assertion_keys/1 carries (an event is never ES256).
  defp check_signature(%{"alg" => "HS256"} = header, input, mac, keys, _opts) do
    with {:ok, ring} <- hs256_ring(keys),
         {:ok, candidates} <- candidates(ring, header),
         do: check_mac(candidates, input, mac)
  end

  defp check_signature(%{"alg" => "ES256"} = header, input, signature, %Keys{} = keys, opts)
       when keys.jwks != nil or keys.jwks_url != nil,
       do: check_es256(header, input, signature, keys, opts)

  defp check_signature(%{"alg" => "ES256"}, _input, _signature, _keys, _opts),
    do: {:error, "ES256, and no JWKS is configured (EDGE_JWKS_URL or EDGE_JWKS)"}

  defp hs256_ring(%Keys{ring: nil}), do: {:error, "HS256, and no ORIGIN_SECRET is configured"}
  defp hs256_ring(%Keys{ring: ring}), do: {:ok, ring}
  defp hs256_ring(ring) when is_list(ring), do: {:ok, ring}

  # The signature's shape first (64 bytes, r and s in range): a malformed one never
  # causes a fetch.
  defp check_es256(header, input, signature, keys, opts) do
    with {:ok, der} <- EdgeSession.JWKS.der_signature(signature) do
      case keys do
        %Keys{jwks: jwks} when is_list(jwks) -> EdgeSession.JWKS.verify(jwks, header, input, der)
        %Keys{jwks_url: url} -> EdgeSession.JWKS.Cache.verify(url, header, input, der, now(opts), json(opts))
      end
    end
  end

  # A kid is a promise of which key signed: an unknown one is refused, even if another key
  # of ours would verify. Without one, every key is tried (all are trusted alike).
  defp candidates(keys, header) do
    case Map.fetch(header, "kid") do
      :error -> {:ok, keys}
      {:ok, kid} when is_binary(kid) -> named(for {^kid, _} = key <- keys, do: key)
      {:ok, _} -> {:error, "token malformed"}
    end
  end

  defp named([]), do: {:error, "unknown kid"}
  defp named(keys), do: {:ok, keys}

  defp check_mac(candidates, input, mac) do
    if Enum.any?(candidates, &mac_ok?(&1, input, mac)), do: :ok, else: {:error, "bad signature"}
  end

  # Constant-time compare: no timing oracle for forging a MAC byte by byte. The length
  # check first is safe (the length is public) and hash_equals requires equal sizes.
  defp mac_ok?({_kid, key}, input, mac),
    do: byte_size(mac) == 32 and :crypto.hash_equals(hmac(key, input), mac)

  # `aud` and the times, as the edge checks them; `now` in Unix seconds.
  defp check_times(claims, audience, now, max_lifetime) do
    {exp, iat} = {numeric_date(claims["exp"]), numeric_date(claims["iat"])}

    cond do
      not audience_ok?(claims["aud"], audience) -> {:error, "wrong aud"}
      exp == nil or iat == nil -> {:error, "exp or iat missing"}
      now >= exp + @skew -> {:error, "expired"}
      iat > now + @skew -> {:error, "iat in the future"}
      exp - iat > max_lifetime -> {:error, "lifetime too long"}
      not nbf_ok?(claims, now) -> {:error, "not yet valid (nbf)"}
      true -> :ok
    end
  end

  # An assertion's own claims, as the edge checks them.
  defp check_assertion_claims(claims) do
    sub = claims["sub"]

    cond do
      claims["iss"] != @issuer -> {:error, "iss is not edge-session"}
      # Without a user and a session there is nobody to trust.
      not (is_binary(sub) and sub != "") -> {:error, "sub missing"}
      not is_binary(claims["sid"]) -> {:error, "sid missing"}
      not is_binary(claims["state"]) -> {:error, "state missing"}
      not (is_nil(claims["ctx"]) or is_map(claims["ctx"])) -> {:error, "ctx is not an object"}
      not (is_nil(claims["context_changed"]) or numeric_date(claims["context_changed"]) != nil) ->
        {:error, "context_changed is not a NumericDate"}
      not (is_nil(claims["auth_time"]) or numeric_date(claims["auth_time"]) != nil) ->
        {:error, "auth_time is not a NumericDate"}
      not (is_nil(claims["amr"]) or (is_list(claims["amr"]) and Enum.all?(claims["amr"], &is_binary/1))) ->
        {:error, "amr is not a list of strings"}
      true -> :ok
    end
  end

  # A NumericDate claim as whole seconds (it may carry a fraction), when present.
  defp whole_seconds(claims, name) do
    case claims[name] do
      nil -> claims
      date -> Map.put(claims, name, numeric_date(date))
    end
  end

  # An event's own claims, as the edge's SecurityEvent::verify checks them.
  defp check_event_claims(claims) do
    {sub, sid, time} = {claims["sub"], claims["sid"], claims["time"]}

    cond do
      claims["iss"] != @issuer ->
        {:error, "iss is not edge-session"}

      not (is_binary(sub) and byte_size(sub) in 1..@max_sub_bytes and String.valid?(sub) and
               not Regex.match?(~r/\p{Cc}/u, sub)) ->
        {:error, "sub must be 1 to 256 bytes without control characters"}

      not (is_binary(sid) and Regex.match?(@session_id, sid)) ->
        {:error, "sid is not a session id"}

      not Enum.all?([claims["jti"], claims["type"]], &(is_binary(&1) and &1 != "")) ->
        {:error, "jti or type missing"}

      not (is_integer(time) and time >= 0) ->
        {:error, "time is not a Unix time"}

      not is_map(Map.get(claims, "device", %{})) ->
        {:error, "device is not an object"}

      wrong = Enum.find(@event_detail, &(claims[&1] != nil and not detail_ok?(&1, claims[&1]))) ->
        {:error, "#{wrong} has the wrong type"}

      true ->
        :ok
    end
  end

  # What an event's optional detail must be when present (nil is absent, as the edge reads it).
  defp detail_ok?("revoked", value), do: is_boolean(value)
  defp detail_ok?("previous", value), do: is_map(value)
  defp detail_ok?(_by_action_or_skipped, value), do: is_binary(value)

  # `aud` is ours, or a list containing ours.
  defp audience_ok?(aud, audience) when is_list(aud), do: audience in aud
  defp audience_ok?(aud, audience), do: aud == audience

  defp nbf_ok?(claims, now) do
    case Map.fetch(claims, "nbf") do
      :error -> true
      {:ok, nbf} ->
        case numeric_date(nbf) do
          nil -> false
          nbf -> nbf <= now + @skew
        end
    end
  end

  # A NumericDate (RFC 7519 §2) as the edge reads one: seconds ≥ 0, fractions truncated.
  defp numeric_date(value) when is_number(value) and value >= 0, do: trunc(value)
  defp numeric_date(_value), do: nil

  defp hmac(key, data), do: :crypto.mac(:hmac, :sha256, key, data)
  defp b64(data), do: Base.url_encode64(IO.iodata_to_binary(data), padding: false)
  defp now(opts), do: Keyword.get_lazy(opts, :now, fn -> System.os_time(:second) end)

  defp json(opts),
    do: Keyword.get_lazy(opts, :json, fn -> Application.get_env(:edge_session, :json, Jason) end)
end
