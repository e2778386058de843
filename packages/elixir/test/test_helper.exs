# JSON for the tests through :jiffy (Debian's erlang-jiffy): Hex, and so Jason, is
# unreachable here. The shape EdgeSession expects: encode!/1 and decode/1.
defmodule JiffyJSON do
  def encode!(term), do: :jiffy.encode(term, [:use_nil])

  def decode(text) do
    {:ok, :jiffy.decode(text, [:return_maps, :use_nil])}
  catch
    _kind, _reason -> {:error, :invalid_json}
  end
end

ExUnit.start()
