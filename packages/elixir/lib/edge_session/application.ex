defmodule EdgeSession.Application do
  @moduledoc false
  # What the JWKS caches need (EdgeSession.JWKS.Cache): a registry of one cache per
  # EDGE_JWKS_URL, and a supervisor that starts each on its URL's first ES256 assertion.
  use Application

  @impl true
  def start(_type, _args) do
    children = [
      {Registry, keys: :unique, name: EdgeSession.JWKS.Registry},
      {DynamicSupervisor, name: EdgeSession.JWKS.Supervisor, strategy: :one_for_one}
    ]

    Supervisor.start_link(children, strategy: :one_for_all, name: EdgeSession.Supervisor)
  end
end
