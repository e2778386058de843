# Compiled only in projects that have Plug (it is an optional dependency).
if Code.ensure_loaded?(Plug.Conn) do
  defmodule EdgeSession.Plug do
    @moduledoc """
    Assigns the identity the edge asserted to `conn.assigns.edge_session`: the verified
    claims (`"sub"`, `"sid"`, `"state"`, `"ctx"`, `"context_changed"`…) or `nil`. Never
    trust `X-Edge-User`: the origin may be reachable around the edge, and only the
    signature proves anything.
    Also assigns `conn.assigns.edge_nonce`, the request's `X-Edge-Nonce`: pass it as
    `nonce:` to `EdgeSession.login_directive/3` and `logout_directive/2`;
    `conn.assigns.edge_refusal`, why the edge refused an anonymous request's edge cookie
    (`EdgeSession.refusal/1`); and `conn.assigns.edge_request`, the
    `EdgeSession.Request` that `EdgeSession.adopt/4` (the migration bridge) takes.

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
      header = fn name -> conn |> get_req_header(name) |> List.first() end
      request = EdgeSession.request(header, keys, [audience: audience] ++ Keyword.take(opts, [:json]))

      conn
      |> assign(:edge_session, request.user)
      |> assign(:edge_nonce, request.nonce)
      |> assign(:edge_refusal, EdgeSession.refusal(request))
      |> assign(:edge_request, request)
    end
  end
end
