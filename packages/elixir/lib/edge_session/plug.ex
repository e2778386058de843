# Compiled only in projects that have Plug (it is an optional dependency).
if Code.ensure_loaded?(Plug.Conn) do
  defmodule EdgeSession.Plug do
    @moduledoc """
    Assigns the identity the edge asserted to `conn.assigns.edge_session`: the verified
    claims (`"sub"`, `"sid"`, `"state"`, `"ctx"`…) or `nil`. Never trust `X-Edge-User`:
    the origin may be reachable around the edge, and only the signature proves anything.
    Also assigns `conn.assigns.edge_nonce`, the request's `X-Edge-Nonce`: pass it as
    `nonce:` to `EdgeSession.login_directive/3` and `logout_directive/2`.

        plug EdgeSession.Plug                       # ORIGIN_SECRET, ORIGIN_AUDIENCE or "origin"
        plug EdgeSession.Plug, audience: "app"      # also: json: MyJSON (default Jason)

    The secret is read from the environment per request, not in `init/1`: Phoenix runs
    `init/1` at compile time, which would bake the secret into the compiled release.
    """
    @behaviour Plug
    import Plug.Conn

    @impl true
    def init(opts), do: opts

    @impl true
    def call(conn, opts) do
      keys = EdgeSession.parse_keys(System.fetch_env!("ORIGIN_SECRET"))
      audience = opts[:audience] || System.get_env("ORIGIN_AUDIENCE", "origin")
      token = conn |> get_req_header("x-edge-assertion") |> List.first()
      claims = EdgeSession.identify(token, keys, [audience: audience] ++ Keyword.take(opts, [:json]))
      nonce = conn |> get_req_header("x-edge-nonce") |> List.first()
      conn |> assign(:edge_session, claims) |> assign(:edge_nonce, nonce)
    end
  end
end
