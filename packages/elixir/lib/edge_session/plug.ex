# Compiled only in projects that have Plug (it is an optional dependency).
if Code.ensure_loaded?(Plug.Conn) do
  defmodule EdgeSession.Plug do
    @moduledoc """
    Assigns the identity the edge asserted to `conn.assigns.edge_session`: the verified
    claims (`"sub"`, `"sid"`, `"state"`, `"ctx"`, `"context_changed"`, `"auth_time"`,
    `"amr"`…) or `nil`. Never trust `X-Edge-User`: the origin may be reachable around
    the edge, and only the signature proves anything.
    Also assigns `conn.assigns.edge_nonce`, the request's `X-Edge-Nonce`: pass it as
    `nonce:` to `EdgeSession.login_directive/3`, `logout_directive/2` and
    `step_up_directive/3`;
    `conn.assigns.edge_refusal`, why the edge refused an anonymous request's edge cookie
    (`EdgeSession.refusal/1`); and `conn.assigns.edge_request`, the
    `EdgeSession.Request` that `EdgeSession.adopt/4` (the migration bridge) takes.

        plug EdgeSession.Plug                       # ORIGIN_SECRET, EDGE_JWKS_URL or EDGE_JWKS; ORIGIN_AUDIENCE or "origin"
        plug EdgeSession.Plug, audience: "app"      # also: json: MyJSON (default Jason)

    The configuration is read from the environment per request, not in `init/1`
    (`EdgeSession.request_from_env/2`): Phoenix runs `init/1` at compile time, which would
    bake the secret into the compiled release. `ORIGIN_SECRET` verifies HS256 assertions;
    `EDGE_JWKS_URL` (or `EDGE_JWKS`) ES256 ones, with no secret at all
    (`EdgeSession.assertion_keys/1`). The keys fetched from `EDGE_JWKS_URL` are cached
    across requests by the package's own application (`EdgeSession.JWKS.Cache`); a fetch
    that fails leaves the request anonymous and logs `edge_jwks_unavailable`. None of the
    three set raises `ArgumentError`, naming them.

    For a sensitive action, `require_recent_auth/2` after it:

        import EdgeSession.Plug, only: [require_recent_auth: 2]
        plug :require_recent_auth, max_age: 600   # signed in within 10 minutes, else 401
    """
    @behaviour Plug
    import Plug.Conn

    @impl true
    def init(opts), do: opts

    @impl true
    def call(conn, opts) do
      header = fn name -> conn |> get_req_header(name) |> List.first() end
      request = EdgeSession.request_from_env(header, Keyword.take(opts, [:audience, :json]))

      conn
      |> assign(:edge_session, request.user)
      |> assign(:edge_nonce, request.nonce)
      |> assign(:edge_refusal, EdgeSession.refusal(request))
      |> assign(:edge_request, request)
    end

    @doc """
    A function plug for a sensitive action ("sign out other devices", a password change),
    after `EdgeSession.Plug`: passes the conn on when the user signed in at most `max_age:`
    seconds ago and the session has not refreshed from another context since
    (`EdgeSession.signed_in_within?/3`). Otherwise it halts with `401
    {"error":"recent sign-in required"}` (JSON, `cache-control: no-store`), or `401
    {"error":"not signed in"}` when nobody is; with `mode: :page`, a 303 to `login_url:`
    (default `"/login"`) instead. Ask for the password again, then record it with
    `EdgeSession.put_step_up/3` (or `EdgeSession.step_up_directive/3` in an
    `x-edge-step-up` response header): the edge moves this session's `auth_time` to now,
    same `sid`. Options: `max_age:` (seconds, required), `mode:` (`:api`, the default, or
    `:page`), `login_url:`, `now:` (Unix seconds, for tests).
    """
    def require_recent_auth(conn, opts) do
      max_age = Keyword.fetch!(opts, :max_age)

      case Map.fetch(conn.assigns, :edge_session) do
        :error -> raise "require_recent_auth needs plug EdgeSession.Plug first"
        {:ok, nil} -> deny(conn, opts, "not signed in")
        {:ok, claims} ->
          if EdgeSession.signed_in_within?(claims, max_age, Keyword.take(opts, [:now])),
            do: conn,
            else: deny(conn, opts, "recent sign-in required")
      end
    end

    # What an app's "signed in?" clause answers: 401 JSON for an API, a 303 for a page.
    defp deny(conn, opts, error) do
      conn = put_resp_header(conn, "cache-control", "no-store")

      conn =
        if opts[:mode] == :page do
          conn |> put_resp_header("location", Keyword.get(opts, :login_url, "/login")) |> send_resp(303, "")
        else
          conn |> put_resp_header("content-type", "application/json") |> send_resp(401, ~s({"error":"#{error}"}))
        end

      halt(conn)
    end
  end
end
