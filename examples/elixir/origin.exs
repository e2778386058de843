# A minimal origin behind edge-session, using only OTP (inets' :httpd) and the kit.
#
#   GET /login?<name>  → logs <name> in (X-Edge-Login)
#   GET /logout        → logs out (X-Edge-Logout)
#   GET /devices       → this user's sessions, via the edge's admin API
#   POST /devices/sign-out-others → revokes every session of this user but this one. POST,
#                        because the edge's cookies are SameSite=Lax: a cross-site POST
#                        carries none, so another site cannot trigger it
#   GET anything else  → JSON: who the verified assertion says this is (never the plain
#                        X-Edge-User header: the origin may be reachable around the edge)
#
#   ORIGIN_SECRET=o1:… EDGE_URL=https://app.example PORT=8792 elixir origin.exs
#
# EDGE_URL is where the admin API is reached: in production, the app's own public URL.
Code.require_file("edge_session.ex", __DIR__)

# JSON through :jiffy (Debian's erlang-jiffy), in the shape EdgeSession expects of
# Jason: encode!/1 and decode/1. `use_nil` maps JSON null to nil both ways.
defmodule JiffyJSON do
  def encode!(term), do: :jiffy.encode(term, [:use_nil])

  def decode(text) do
    {:ok, :jiffy.decode(text, [:return_maps, :use_nil])}
  catch
    # jiffy raises on malformed input; an attacker's bytes must not crash the request.
    _kind, _reason -> {:error, :invalid_json}
  end
end

defmodule Origin do
  require Record
  Record.defrecord(:mod, Record.extract(:mod, from_lib: "inets/include/httpd.hrl"))

  # httpd calls Module:do/1 for each request; `do` is reserved in Elixir, hence unquote.
  def unquote(:do)(request) do
    {keys, audience, edge_url} = :persistent_term.get(__MODULE__)
    path = List.to_string(mod(request, :request_uri))
    # httpd lowercases header names; values are byte lists, kept byte for byte.
    header = fn name ->
      found = request |> mod(:parsed_header) |> List.keyfind(name, 0)
      if found, do: :erlang.list_to_binary(elem(found, 1))
    end

    token = header.(~c"x-edge-assertion")
    # Directives answer this request only: they carry its nonce.
    nonce = header.(~c"x-edge-nonce")

    claims = EdgeSession.verify_assertion(token, keys, audience: audience, json: JiffyJSON)

    changes_state = path == "/devices/sign-out-others"

    {status, body} =
      cond do
        changes_state != (mod(request, :method) == ~c"POST") ->
          {405, %{kit: "elixir", error: if(changes_state, do: "use POST", else: "use GET")}}

        path in ["/devices", "/devices/sign-out-others"] ->
          devices(path, claims, keys, edge_url)

        claims && path == "/whoami" ->
          # The plain header decodes to the same sub.
          {200, %{kit: "elixir", user: claims["sub"], state: claims["state"],
                  header_user: EdgeSession.decode_user(header.(~c"x-edge-user"))}}

        true ->
          {200, %{kit: "elixir", user: claims && claims["sub"], state: claims && claims["state"]}}
      end

    body = JiffyJSON.encode!(body)

    directive =
      cond do
        String.starts_with?(path, "/login?") ->
          sub = EdgeSession.decode_user(String.replace_prefix(path, "/login?", ""))
          [{:"x-edge-login", EdgeSession.login_directive(sub, keys, nonce: nonce, json: JiffyJSON)}]

        path == "/logout" ->
          [{:"x-edge-logout", EdgeSession.logout_directive(keys, nonce: nonce, json: JiffyJSON)}]

        true ->
          []
      end

    head =
      [code: status, content_type: "application/json", cache_control: "no-store",
       content_length: Integer.to_string(byte_size(body))] ++ directive

    {:proceed, [response: {:response, Enum.map(head, &to_header/1), body}]}
  end

  defp devices(_path, nil, _keys, _edge_url), do: {401, %{kit: "elixir", error: "not signed in"}}
  defp devices(_path, _claims, _keys, nil), do: {500, %{kit: "elixir", error: "EDGE_URL is not set"}}

  # sid: this request's session, as the edge lists it.
  defp devices("/devices", %{"sub" => sub, "sid" => sid}, keys, edge_url) do
    case EdgeSession.admin_call(edge_url, sub, :list, keys, json: JiffyJSON) do
      {:ok, 200, %{"sessions" => sessions}} -> {200, %{kit: "elixir", current: sid, devices: Enum.map(sessions, & &1["sid"])}}
      failed -> {502, %{kit: "elixir", error: inspect(failed)}}
    end
  end

  defp devices("/devices/sign-out-others", %{"sub" => sub, "sid" => sid}, keys, edge_url) do
    case EdgeSession.admin_call(edge_url, sub, :revoke_all, keys, except: sid, json: JiffyJSON) do
      {:ok, 200, %{"revoked" => n}} -> {200, %{kit: "elixir", revoked: n}}
      failed -> {502, %{kit: "elixir", error: inspect(failed)}}
    end
  end

  # httpd wants header values as charlists.
  defp to_header({:code, code}), do: {:code, code}
  defp to_header({name, value}), do: {name, String.to_charlist(value)}
end

:persistent_term.put(Origin, {
  EdgeSession.parse_keys(System.fetch_env!("ORIGIN_SECRET")),
  System.get_env("ORIGIN_AUDIENCE", "origin"),
  System.get_env("EDGE_URL")
})

{:ok, _} = Application.ensure_all_started(:inets)
root = String.to_charlist(System.tmp_dir!())
port = String.to_integer(System.get_env("PORT", "8792"))

{:ok, server} =
  :inets.start(:httpd,
    port: port, bind_address: {127, 0, 0, 1}, ipfamily: :inet, server_name: ~c"origin",
    server_root: root, document_root: root, modules: [Origin])

IO.puts("elixir origin on #{:httpd.info(server)[:port]}")
Process.sleep(:infinity)
