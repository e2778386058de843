defmodule EdgeSession.JiffyJSON do
  @moduledoc """
  A JSON adapter over `:jiffy` (Debian's `erlang-jiffy`), in the shape `EdgeSession`
  expects of Jason (`encode!/1`, `decode/1`), for systems without Hex. Pass it as
  `json: EdgeSession.JiffyJSON`, or `config :edge_session, json: EdgeSession.JiffyJSON`.
  JSON `null` is `nil` both ways.
  """

  def encode!(term), do: :jiffy.encode(term, [:use_nil])

  def decode(text) do
    {:ok, :jiffy.decode(text, [:return_maps, :use_nil])}
  catch
    # jiffy raises on malformed input; an attacker's bytes must not crash the request.
    _kind, _reason -> {:error, :invalid_json}
  end
end
