# A minimal origin behind edge-session, using only OTP (inets' :httpd) and the kit.
#
#   GET /login?<name>  → logs <name> in (X-Edge-Login)
#   GET /logout        → logs out (X-Edge-Logout)
#   GET anything else  → JSON: who the verified assertion says this is (never the plain
#                        X-Edge-User header: the origin may be reachable around the edge)
#
#   ORIGIN_SECRET=o1:… PORT=8792 elixir origin.exs
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
    {keys, audience} = :persistent_term.get(__MODULE__)
    path = List.to_string(mod(request, :request_uri))
    # httpd lowercases header names; values are byte lists, kept byte for byte.
    token = request |> mod(:parsed_header) |> List.keyfind(~c"x-edge-assertion", 0)
    token = if token, do: :erlang.list_to_binary(elem(token, 1))

    claims = EdgeSession.verify_assertion(token, keys, audience: audience, json: JiffyJSON)
    body = JiffyJSON.encode!(%{kit: "elixir", user: claims && claims["sub"], state: claims && claims["state"]})

    directive =
      cond do
        String.starts_with?(path, "/login?") ->
          [{:"x-edge-login", EdgeSession.login_directive(String.replace_prefix(path, "/login?", ""), keys, json: JiffyJSON)}]

        path == "/logout" ->
          [{:"x-edge-logout", EdgeSession.logout_directive(keys, json: JiffyJSON)}]

        true ->
          []
      end

    head =
      [code: 200, content_type: "application/json", cache_control: "no-store",
       content_length: Integer.to_string(byte_size(body))] ++ directive

    {:proceed, [response: {:response, Enum.map(head, &to_header/1), body}]}
  end

  # httpd wants header values as charlists.
  defp to_header({:code, code}), do: {:code, code}
  defp to_header({name, value}), do: {name, String.to_charlist(value)}
end

:persistent_term.put(Origin, {
  EdgeSession.parse_keys(System.fetch_env!("ORIGIN_SECRET")),
  System.get_env("ORIGIN_AUDIENCE", "origin")
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
