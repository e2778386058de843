# An Elixir origin behind edge-session: the package as a Mix dependency, served by OTP's
# :httpd (Plug is on Hex, which this machine cannot reach; with Plug, `plug
# EdgeSession.Plug` does the identify step below for you).
#
#   ORIGIN_SECRET=o1:… EDGE_URL=https://app.example PORT=8799 elixir origin.exs
#
# EDGE_URL is where the admin API is reached: in production, the app's own public URL.
Mix.install([{:edge_session_origin, path: Path.expand("../../packages/elixir", __DIR__)}])

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
    # httpd lowercases header names; values are byte lists, kept byte for byte.
    header = fn name ->
      found = request |> mod(:parsed_header) |> List.keyfind(name, 0)
      if found, do: :erlang.list_to_binary(elem(found, 1))
    end

    # Trust only the verified assertion: the origin may be reachable around the edge.
    user = EdgeSession.identify(header.(~c"x-edge-assertion"), keys, audience: audience, json: JiffyJSON)
    # Directives answer this request only: they carry its nonce.
    nonce = header.(~c"x-edge-nonce")
    method = List.to_string(mod(request, :method))
    path = List.to_string(mod(request, :request_uri))
    form = URI.decode_query(:erlang.list_to_binary(mod(request, :entity_body)))
    ctx = %{user: user, nonce: nonce, keys: keys, edge_url: edge_url, form: form}

    {status, headers, body} = route(method, path, ctx)
    head = [code: status, cache_control: "no-store", content_length: Integer.to_string(byte_size(body))] ++ headers
    {:proceed, [response: {:response, Enum.map(head, &to_header/1), body}]}
  end

  defp route("GET", "/", %{user: user}), do: json(200, %{framework: "elixir", user: identity(user)})

  defp route("POST", "/login", %{form: form, nonce: nonce, keys: keys}) do
    remember = form["remember"] == "on"
    directive = EdgeSession.login_directive(form["username"], keys, nonce: nonce, remember: remember, json: JiffyJSON)
    {303, [location: "/", "x-edge-login": directive], ""}
  end

  defp route("POST", "/logout", %{nonce: nonce, keys: keys}),
    do: {303, [location: "/", "x-edge-logout": EdgeSession.logout_directive(keys, nonce: nonce, json: JiffyJSON)], ""}

  defp route("GET", "/account", %{user: nil}), do: {303, [location: "/login"], ""}
  defp route("GET", "/account", %{user: user}), do: {200, [content_type: "text/plain"], "Account of #{user["sub"]}"}

  defp route(_method, "/api/" <> _, %{user: nil}), do: json(401, %{error: "not signed in"})

  defp route("GET", "/api/me", %{user: user}), do: json(200, Map.put(identity(user), :framework, "elixir"))

  defp route("GET", "/api/devices", %{user: %{"sub" => sub, "sid" => sid}} = ctx) do
    case EdgeSession.admin_call(ctx.edge_url, sub, :list, ctx.keys, json: JiffyJSON) do
      {:ok, 200, %{"sessions" => sessions}} -> json(200, %{current: sid, sessions: sessions})
      failed -> json(502, %{error: inspect(failed)})
    end
  end

  defp route("POST", "/api/devices/revoke", %{user: %{"sub" => sub}, form: %{"sid" => sid}} = ctx) do
    case EdgeSession.admin_call(ctx.edge_url, sub, :revoke, ctx.keys, sid: sid, json: JiffyJSON) do
      {:ok, 200, answer} -> json(200, answer)
      failed -> json(502, %{error: inspect(failed)})
    end
  end

  defp route("POST", "/api/devices/sign-out-others", %{user: %{"sub" => sub, "sid" => sid}} = ctx) do
    case EdgeSession.admin_call(ctx.edge_url, sub, :revoke_all, ctx.keys, except: sid, json: JiffyJSON) do
      {:ok, 200, answer} -> json(200, answer)
      failed -> json(502, %{error: inspect(failed)})
    end
  end

  defp route(_method, _path, _ctx), do: json(404, %{error: "not found"})

  defp identity(nil), do: nil
  defp identity(claims), do: %{sub: claims["sub"], sid: claims["sid"], state: claims["state"], ctx: claims["ctx"]}

  defp json(status, value), do: {status, [content_type: "application/json"], JiffyJSON.encode!(value)}

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
port = String.to_integer(System.get_env("PORT", "8799"))

{:ok, server} =
  :inets.start(:httpd,
    port: port, bind_address: {127, 0, 0, 1}, ipfamily: :inet, server_name: ~c"origin",
    server_root: root, document_root: root, modules: [Origin])

IO.puts("elixir app on #{:httpd.info(server)[:port]}")
Process.sleep(:infinity)
