defmodule EdgeSessionOrigin.MixProject do
  use Mix.Project

  @source_url "https://github.com/OWNER/edge-session"

  # The origin side of edge-session for Elixir: OTP's :crypto for HS256 and ES256, :httpc
  # for the admin API and the edge's JWKS, and the JSON library you pass (`json:`; Jason by default). `EdgeSession.Plug`
  # is compiled when your project has Plug.
  def project do
    [
      app: :edge_session_origin,
      version: "0.1.0",
      elixir: "~> 1.14",
      deps: deps(),
      # EdgeSession.JiffyJSON calls :jiffy, which only the apps that pick that adapter have.
      xref: [exclude: [:jiffy]],
      description: "Verify edge-session's signed identity, log users in and out, list and revoke sessions; a Plug.",
      package: package(),
      source_url: @source_url,
      homepage_url: "#{@source_url}/tree/main/packages/elixir"
    ]
  end

  # What `mix hex.publish` ships: the library, README, LICENSE and CHANGELOG; no tests
  # (they read the repository's conformance table, packages/conformance/vectors.json).
  defp package do
    [
      licenses: ["Apache-2.0"],
      links: %{
        "GitHub" => @source_url,
        "Changelog" => "#{@source_url}/blob/main/packages/elixir/CHANGELOG.md"
      },
      files: ~w(lib mix.exs README.md LICENSE CHANGELOG.md)
    ]
  end

  # The application supervises the JWKS caches (EdgeSession.JWKS.Cache), one per
  # EDGE_JWKS_URL, each started on its first ES256 assertion.
  def application do
    [mod: {EdgeSession.Application, []}, extra_applications: [:logger, :crypto, :public_key, :inets, :ssl]]
  end

  # Optional: EdgeSession.Plug compiles only against Plug, and Jason is the default JSON
  # library. Declared only where Hex is installed, because Mix cannot resolve even an
  # optional Hex dependency without it (a machine that reaches no Hex mirror).
  defp deps do
    if Code.ensure_loaded?(Hex),
      do: [{:plug, "~> 1.14", optional: true}, {:jason, "~> 1.4", optional: true}],
      else: []
  end
end
