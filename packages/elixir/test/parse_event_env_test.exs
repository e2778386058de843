# parse_event/2 reads EVENTS_SECRET (and ORIGIN_AUDIENCE) from the environment on each
# call, as EdgeSession.Plug reads ORIGIN_SECRET; parse_event/3 takes the ring instead.
#
#   cd packages/elixir && mix test test/parse_event_env_test.exs
defmodule EdgeSession.ParseEventEnvTest do
  # The environment is the process's, shared with every test: not async.
  use ExUnit.Case, async: false

  {:ok, table} = "../../conformance/vectors.json" |> Path.expand(__DIR__) |> File.read!() |> EdgeSession.JiffyJSON.decode()
  @webhook Enum.find(table["events"], &(&1["valid"] and not &1["queue"]))
  @queued Enum.find(table["events"], &(&1["valid"] and &1["queue"]))
  @opts [json: EdgeSession.JiffyJSON]

  setup do
    saved = for name <- ~w(EVENTS_SECRET ORIGIN_AUDIENCE), into: %{}, do: {name, System.get_env(name)}

    on_exit(fn ->
      for {name, value} <- saved, do: if(value, do: System.put_env(name, value), else: System.delete_env(name))
    end)

    System.put_env("EVENTS_SECRET", @webhook["secret"])
    System.put_env("ORIGIN_AUDIENCE", @webhook["audience"])
    :ok
  end

  test "EVENTS_SECRET and ORIGIN_AUDIENCE from the environment" do
    assert EdgeSession.parse_event(@webhook["body"], [now: @webhook["now"]] ++ @opts) == {:ok, @webhook["event"]}
    # The queue option, through the same default.
    opts = [now: @queued["now"], queue: true] ++ @opts
    assert EdgeSession.parse_event(@queued["body"], opts) == {:ok, @queued["event"]}
    assert {:error, _} = EdgeSession.parse_event(@queued["body"], Keyword.delete(opts, :queue))
  end

  test "read on each call: another audience, or another ring, refuses the event" do
    System.put_env("ORIGIN_AUDIENCE", "another-origin")
    assert {:error, "wrong aud"} = EdgeSession.parse_event(@webhook["body"], [now: @webhook["now"]] ++ @opts)
    # The option wins over the environment.
    opts = [now: @webhook["now"], audience: @webhook["audience"]] ++ @opts
    assert {:ok, _} = EdgeSession.parse_event(@webhook["body"], opts)

    System.put_env("EVENTS_SECRET", "e2:" <> String.duplicate("z", 32))
    assert {:error, _} = EdgeSession.parse_event(@webhook["body"], opts)
  end

  test "an unset or malformed EVENTS_SECRET raises, naming the variable and never the secret" do
    System.delete_env("EVENTS_SECRET")
    assert_raise ArgumentError, "EVENTS_SECRET is not set", fn -> EdgeSession.parse_event(@webhook["body"], @opts) end
    System.put_env("EVENTS_SECRET", "e1:s3cr3t")
    refused = assert_raise ArgumentError, fn -> EdgeSession.parse_event(@webhook["body"], @opts) end
    assert Exception.message(refused) =~ "EVENTS_SECRET key #1"
    refute Exception.message(refused) =~ "s3cr3t"
  end

  test "parse_event/2 with a ring, as before, ignores the environment" do
    keys = EdgeSession.parse_keys(@webhook["secret"], "EVENTS_SECRET")
    System.delete_env("EVENTS_SECRET")
    # Unset, the environment's default would raise: this is the ring's path (refused only
    # because the table's event is not current now, or because Jason is not here).
    assert {:error, _} = EdgeSession.parse_event(@webhook["body"], keys)
    # parse_event/3's audience defaults to "origin", the table's.
    assert EdgeSession.parse_event(@webhook["body"], keys, [now: @webhook["now"]] ++ @opts) == {:ok, @webhook["event"]}
  end
end
