# An Elixir origin behind edge-session: the package as a Mix dependency, served by OTP's
# :httpd (Plug is on Hex, which this machine cannot reach; with Plug, `plug
# EdgeSession.Plug` does the identify step below for you).
#
#   ORIGIN_SECRET=o1:… EDGE_URL=https://app.example PORT=8799 elixir origin.exs
#
# EDGE_URL is where the admin API is reached: in production, the app's own public URL.
# Assertions are verified with EdgeSession.assertion_keys/1: ORIGIN_SECRET (HS256), or
# EDGE_JWKS_URL / EDGE_JWKS (ES256, no secret at all). Logins, logouts and step-ups are
# signed with DIRECTIVE_SECRET, admin calls with ADMIN_SECRET, each ORIGIN_SECRET's ring
# when unset (EdgeSession.directive_keys/0, admin_keys/0, read on each call).
# RECENT_AUTH_SECS (default 600): how recent a sign-in signing other devices out asks for.
#
# Mid-migration: it still accepts its own (legacy) session, and the first request that
# carries one without an edge identity is answered with a login directive for that user.
# From then on it is an edge session.
Mix.install([{:edge_session_origin, path: Path.expand("../../packages/elixir", __DIR__)}])

# How this app kept users logged in before edge-session (no Plug here, so its own): a
# cookie holding the user and an expiry, signed with HMAC-SHA256. Like any client-side
# signed session, nothing server-side can revoke it: clearing it clears the browser's
# copy, but a copy taken earlier stays valid until it expires. End the bridge (or rotate
# LEGACY_SECRET) once your users have moved.
defmodule LegacySession do
  @name "legacy_session"
  @lifetime 7 * 24 * 3600

  @doc "The user of a valid legacy cookie in the `Cookie` header, else nil."
  def user(nil, _secret), do: nil

  def user(cookie_header, secret) do
    with [value | _] <- values(cookie_header),
         [user64, expires, mac64] <- String.split(value, "."),
         {:ok, mac} <- Base.url_decode64(mac64, padding: false),
         # Constant-time: no timing oracle for forging the MAC byte by byte.
         true <- byte_size(mac) == 32 and :crypto.hash_equals(mac(user64 <> "." <> expires, secret), mac),
         {expires, ""} <- Integer.parse(expires),
         true <- System.os_time(:second) < expires,
         {:ok, user} <- Base.url_decode64(user64, padding: false) do
      user
    else
      _ -> nil
    end
  end

  # The values of our cookie in a `Cookie` header; the first one counts.
  defp values(cookie_header) do
    for pair <- String.split(cookie_header, ";"),
        [@name, value] <- [pair |> String.trim() |> String.split("=", parts: 2)],
        do: value
  end

  @doc "The Set-Cookie value that logs `user` in the old way."
  def cookie(user, secret) do
    payload = Base.url_encode64(user, padding: false) <> "." <> Integer.to_string(System.os_time(:second) + @lifetime)
    "#{@name}=#{payload}.#{Base.url_encode64(mac(payload, secret), padding: false)}; Path=/; HttpOnly; SameSite=Lax; Max-Age=#{@lifetime}"
  end

  @doc "The Set-Cookie value that clears it."
  def clear, do: "#{@name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"

  defp mac(payload, secret), do: :crypto.mac(:hmac, :sha256, secret, "legacy-session:" <> payload)
end

# Security events: the edge POSTs each one to /events (its EVENTS_URL), signed with
# EVENTS_SECRET, at least once. Both stores are ETS tables for the example only: in
# production they live in the database the app's instances share (a unique jti column).
defmodule Notices do
  @day 86_400

  @doc "The tables, owned by the calling (long-lived) process; httpd serves each request in its own."
  def start do
    :ets.new(:edge_event_jtis, [:named_table, :public])   # jti => when it came
    :ets.new(:notices, [:named_table, :public, :bag])      # sub => a notice, one row each
  end

  @doc "Takes a verified event once: a redelivery has the same jti, for up to a day."
  def take(event) do
    now = System.os_time(:second)
    :ets.select_delete(:edge_event_jtis, [{{:_, :"$1"}, [{:<, :"$1", now - @day}], [true]}])
    text = text(event)

    # insert_new: of two deliveries racing, one wins; a duplicate is dropped.
    if :ets.insert_new(:edge_event_jtis, {event["jti"], now}) and text do
      notice = %{jti: event["jti"], type: event["type"], text: text, sid: event["sid"], time: event["time"]}
      :ets.insert(:notices, {event["sub"], notice})
      # 50 per user: the oldest go.
      for old <- event["sub"] |> of() |> Enum.drop(50), do: :ets.delete_object(:notices, {event["sub"], old})
    end
  end

  @doc "A user's notices, newest first by the event's time (a retried one can arrive late)."
  def of(sub) do
    # A bag keeps a key's rows in the order they came: reversed, a tie lists the later first.
    for({_sub, notice} <- :ets.lookup(:notices, sub), do: notice) |> Enum.reverse() |> Enum.sort_by(& &1.time, :desc)
  end

  # The notice an event becomes, or nil (session.revoked: the user or the app asked for it).
  defp text(%{"type" => "session.created", "device" => device}), do: "New sign-in: #{where(device)}"

  defp text(%{"type" => type, "device" => device})
       when type in ["session.reuse_detected", "session.copied_jar", "session.context_changed"],
       do: "Was this you? #{type} from #{where(device)}"

  defp text(_event), do: nil   # and a type this app does not know (a later edge may add some)

  defp where(device),
    do: "#{device["browser"] || "unknown"} on #{device["os"] || "unknown"}, #{device["country"] || "unknown"}"
end

defmodule Origin do
  require Record
  Record.defrecord(:mod, Record.extract(:mod, from_lib: "inets/include/httpd.hrl"))

  # httpd calls Module:do/1 for each request; `do` is reserved in Elixir, hence unquote.
  def unquote(:do)(request) do
    {keys, audience, edge_url, legacy_secret, events, recent_auth_secs} = :persistent_term.get(__MODULE__)
    # httpd lowercases header names; values are byte lists, kept byte for byte.
    header = fn name ->
      found = request |> mod(:parsed_header) |> List.keyfind(String.to_charlist(name), 0)
      if found, do: :erlang.list_to_binary(elem(found, 1))
    end

    # Trust only the verified assertion: the origin may be reachable around the edge.
    # Directives answer this request only: they carry its nonce.
    edge = EdgeSession.request(header, keys, audience: audience, json: EdgeSession.JiffyJSON)
    legacy = LegacySession.user(header.("cookie"), legacy_secret)
    method = List.to_string(mod(request, :method))
    path = List.to_string(mod(request, :request_uri))
    entity = :erlang.list_to_binary(mod(request, :entity_body))
    # The webhook's body is a JWS, not a form.
    form = if path == "/events", do: %{}, else: URI.decode_query(entity)
    ctx = %{user: edge.user, nonce: edge.nonce, edge: edge, edge_url: edge_url, form: form, legacy: legacy,
            legacy_secret: legacy_secret, entity: entity, audience: audience, events: events,
            recent_auth_secs: recent_auth_secs}

    {status, headers, body} = route(method, path, ctx)
    # Not on logout: its directive ends the session, and a login beside it would undo that.
    bridge = if path == "/logout", do: [], else: bridge_legacy_session(edge, legacy)
    # The route's own directives and cookies win over the bridge's.
    headers = Keyword.merge(bridge, headers)
    head = [code: status, cache_control: "no-store", content_length: Integer.to_string(byte_size(body))] ++ headers
    {:proceed, [response: {:response, Enum.map(head, &to_header/1), body}]}
  end

  # The bridge, on every request but logout; the headers it adds. A legacy session
  # without an edge identity is logged in at the edge by this response, and cleared in
  # this same response: the login directive and the cleared cookie travel together, so a
  # lost response loses neither. It is cleared too once the edge identifies the browser,
  # or when the edge refused the edge cookie beside it (that jar was logged out, revoked
  # or copied). It is kept only when the request did not come through the edge. Remove
  # this, and /legacy-login, once your users have moved.
  defp bridge_legacy_session(_edge, nil), do: []

  defp bridge_legacy_session(edge, legacy) do
    directive = EdgeSession.adopt(edge, legacy, EdgeSession.directive_keys(), json: EdgeSession.JiffyJSON)
    login = if directive, do: ["x-edge-login": directive], else: []
    ended? = directive != nil or edge.user != nil or EdgeSession.refusal(edge) != nil
    login ++ if(ended?, do: ["set-cookie": LegacySession.clear()], else: [])
  end

  defp route("GET", "/", %{user: user, legacy: legacy}),
    do: json(200, %{framework: "elixir", user: identity(user), legacy: legacy})

  # How this app logged users in before edge-session: its own session, no edge.
  defp route("POST", "/legacy-login", %{form: form, legacy_secret: secret}),
    do: {303, [location: "/", "set-cookie": LegacySession.cookie(form["username"], secret)], ""}

  defp route("POST", "/login", %{form: form, nonce: nonce}) do
    # … after checking the password:
    remember = form["remember"] == "on"

    directive =
      EdgeSession.login_directive(form["username"], EdgeSession.directive_keys(),
        nonce: nonce, remember: remember, amr: ["pwd"], json: EdgeSession.JiffyJSON)

    {303, [location: "/", "x-edge-login": directive], ""}
  end

  defp route("POST", "/logout", %{nonce: nonce, legacy: legacy}) do
    directive = EdgeSession.logout_directive(EdgeSession.directive_keys(), nonce: nonce, json: EdgeSession.JiffyJSON)
    logout = [location: "/", "x-edge-logout": directive]
    # Else the bridge would log the legacy user straight back in.
    {303, logout ++ if(legacy, do: ["set-cookie": LegacySession.clear()], else: []), ""}
  end

  defp route("GET", "/account", %{user: nil}), do: {303, [location: "/login"], ""}
  defp route("GET", "/account", %{user: user}), do: {200, [content_type: "text/plain"], "Account of #{user["sub"]}"}

  # The webhook: verified with the EVENTS_SECRET ring, never ORIGIN_SECRET's.
  defp route("POST", "/events", %{events: {events_keys, refusals}, entity: body, audience: audience}) do
    # A test knob for "a receiver that is down for a while": the first EVENTS_FAIL_FIRST
    # deliveries get a 503 unread, and the edge retries them (2 s, 5 s, 10 s, …).
    cond do
      :atomics.sub_get(refusals, 1, 1) >= 0 -> {503, [], ""}
      events_keys == nil -> {500, [], "EVENTS_SECRET is not set"}
      true ->
        case EdgeSession.parse_event(body, events_keys, audience: audience, json: EdgeSession.JiffyJSON) do
          {:ok, event} ->
            Notices.take(event)
            {204, [], ""}   # a 2xx, or the edge retries; a duplicate too (dropped)

          {:error, _reason} ->
            {401, [], ""}
        end
    end
  end

  defp route(_method, "/api/" <> _, %{user: nil}), do: json(401, %{error: "not signed in"})

  defp route("GET", "/api/notices", %{user: %{"sub" => sub}}), do: json(200, Notices.of(sub))

  defp route("GET", "/api/me", %{user: user}), do: json(200, Map.put(identity(user), :framework, "elixir"))

  defp route("GET", "/api/devices", %{user: %{"sub" => sub, "sid" => sid}} = ctx) do
    case EdgeSession.admin_call(ctx.edge_url, sub, :list, EdgeSession.admin_keys(), json: EdgeSession.JiffyJSON) do
      {:ok, 200, %{"sessions" => sessions}} -> json(200, %{current: sid, sessions: sessions})
      failed -> json(502, %{error: inspect(failed)})
    end
  end

  defp route("POST", "/api/devices/revoke", %{user: %{"sub" => sub}, form: %{"sid" => sid}} = ctx) do
    require_recent_auth(ctx, fn ->
      admin_answer(EdgeSession.admin_call(ctx.edge_url, sub, :revoke, EdgeSession.admin_keys(), sid: sid, json: EdgeSession.JiffyJSON))
    end)
  end

  defp route("POST", "/api/devices/sign-out-others", %{user: %{"sub" => sub, "sid" => sid}} = ctx) do
    require_recent_auth(ctx, fn ->
      admin_answer(EdgeSession.admin_call(ctx.edge_url, sub, :revoke_all, EdgeSession.admin_keys(), except: sid, json: EdgeSession.JiffyJSON))
    end)
  end

  # "Confirm it's you": where a sensitive action sends a user whose sign-in is not recent.
  # After checking the password again, the step-up moves this session's auth_time to now
  # (same session). This example has no passwords: check one here, or anyone holding the
  # session (a copied cookie jar too) makes itself recent.
  defp route("POST", "/confirm", %{user: nil}), do: json(401, %{error: "not signed in"})

  defp route("POST", "/confirm", %{edge: edge}) do
    answered = EdgeSession.put_step_up(edge, EdgeSession.directive_keys(), amr: ["pwd"], json: EdgeSession.JiffyJSON)
    {303, [location: "/"] ++ directives(answered), ""}
  end

  defp route(_method, _path, _ctx), do: json(404, %{error: "not found"})

  # A sensitive action runs only for a sign-in within RECENT_AUTH_SECS with no context
  # change since (with Plug: `plug :require_recent_auth, max_age: …`); else the answer
  # that sends the user to "confirm it's you" (POST /confirm).
  defp require_recent_auth(%{user: user, recent_auth_secs: max_age}, action) do
    if EdgeSession.signed_in_within?(user, max_age), do: action.(), else: json(401, %{error: "recent sign-in required"})
  end

  defp admin_answer({:ok, 200, answer}), do: json(200, answer)
  defp admin_answer(failed), do: json(502, %{error: inspect(failed)})

  # The directives an EdgeSession.Request holds, as this app's headers (httpd names them
  # with atoms; the package's names are a fixed few).
  defp directives(request), do: for({name, value} <- request.resp_headers, do: {String.to_atom(name), value})

  defp identity(nil), do: nil
  defp identity(claims),
    do: Map.new(~w(sub sid state ctx context_changed auth_time amr)a, &{&1, claims[Atom.to_string(&1)]})

  defp json(status, value), do: {status, [content_type: "application/json"], EdgeSession.JiffyJSON.encode!(value)}

  # httpd wants header values as charlists.
  defp to_header({:code, code}), do: {:code, code}
  defp to_header({name, value}), do: {name, String.to_charlist(value)}
end

# The EVENTS_SECRET ring (nil without one: /events then answers 500), and how many
# deliveries are still to be refused (EVENTS_FAIL_FIRST).
events_keys = if secret = System.get_env("EVENTS_SECRET"), do: EdgeSession.parse_keys(secret, "EVENTS_SECRET")
refusals = :atomics.new(1, [])
:atomics.put(refusals, 1, String.to_integer(System.get_env("EVENTS_FAIL_FIRST", "0")))

:persistent_term.put(Origin, {
  # ORIGIN_SECRET, EDGE_JWKS_URL or EDGE_JWKS: checked here, at startup.
  EdgeSession.assertion_keys(json: EdgeSession.JiffyJSON),
  System.get_env("ORIGIN_AUDIENCE", "origin"),
  System.get_env("EDGE_URL"),
  System.get_env("LEGACY_SECRET", "dev-only-not-secret"),
  {events_keys, refusals},
  String.to_integer(System.get_env("RECENT_AUTH_SECS", "600"))
})
Notices.start()

{:ok, _} = Application.ensure_all_started(:inets)
root = String.to_charlist(System.tmp_dir!())
port = String.to_integer(System.get_env("PORT", "8799"))

{:ok, server} =
  :inets.start(:httpd,
    port: port, bind_address: {127, 0, 0, 1}, ipfamily: :inet, server_name: ~c"origin",
    server_root: root, document_root: root, modules: [Origin])

IO.puts("elixir app on #{:httpd.info(server)[:port]}")
Process.sleep(:infinity)
