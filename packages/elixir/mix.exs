defmodule EdgeSessionOrigin.MixProject do
  use Mix.Project

  # The origin side of edge-session for Elixir: OTP's :crypto for HS256, :httpc for the
  # admin API, and the JSON library you pass (`json:`; Jason by default). `EdgeSession.Plug`
  # is compiled when your project has Plug.
  def project do
    [
      app: :edge_session_origin,
      version: "0.1.0",
      elixir: "~> 1.14",
      deps: deps(),
      description: "Verify edge-session's signed identity, log users in and out, list and revoke sessions; a Plug."
    ]
  end

  def application, do: [extra_applications: [:logger, :crypto, :inets, :ssl]]

  # Optional: EdgeSession.Plug compiles only against Plug, and Jason is the default JSON
  # library. Declared only where Hex is installed, because Mix cannot resolve even an
  # optional Hex dependency without it (a machine that reaches no Hex mirror).
  defp deps do
    if Code.ensure_loaded?(Hex),
      do: [{:plug, "~> 1.14", optional: true}, {:jason, "~> 1.4", optional: true}],
      else: []
  end
end
