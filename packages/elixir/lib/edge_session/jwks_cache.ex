defmodule EdgeSession.JWKS.Cache do
  @moduledoc """
  The keys fetched from one `EDGE_JWKS_URL`: one process per URL, started on the first
  ES256 assertion under this application's supervisor (`:edge_session_origin`, which
  Mix starts with your app), so `EdgeSession.assertion_keys/1` and `EdgeSession.Plug`
  need nothing added to your supervision tree.

  The rules are the contract's (packages/conformance/README.md, "JWKS"):

    * fetched on the first ES256 assertion, not at startup (the edge may start later),
      and kept 5 minutes;
    * an assertion whose `kid` the keys lack (or, without `kid`, that no key verifies)
      fetches them again, at most once every 30 s however many requests ask: random kids
      from an attacker cannot make it fetch on every request. Requests that ask during a
      fetch wait for that one fetch (this process makes one at a time) and use its keys;
    * a failed fetch logs `edge_jwks_unavailable` with the reason (never the body) and
      keeps the keys it had, which go on verifying until a fetch succeeds, for at most
      24 hours after the last fetch that succeeded: then they are dropped. The request
      is anonymous, never an exception;
    * a 404 is an answer, not a failure: the edge serves no JWKS under HS256 (an operator
      who moved back from ES256, perhaps because a key leaked), so the keys are dropped
      at once (and `edge_jwks_unavailable` logged with the status).

  Requests read the keys from an ETS table, without a message to this process, unless
  they need a fetch. Time is the `now:` option of `EdgeSession.identify/3` (Unix
  seconds, default the system clock), so tests move it on instead of sleeping.
  """
  use GenServer, restart: :temporary
  require Logger

  @registry EdgeSession.JWKS.Registry
  @supervisor EdgeSession.JWKS.Supervisor
  @max_age 300
  @cooldown 30
  # How long keys kept through failed fetches still verify after the last good one. A key
  # the edge stopped publishing (perhaps because it leaked) while its URL is down must not
  # verify forged assertions until the process restarts.
  @keep_unconfirmed 24 * 3600
  # A waiting request gives up a little after the fetch's own 5 s: anonymous, not a crash.
  @call_timeout 8_000

  @doc false
  # ES256 with the keys of `url`: `:ok` or `{:error, reason}`; `der` is the signature as
  # EdgeSession.JWKS.der_signature/1 made it (its shape checked before any fetch).
  def verify(url, header, input, der, now, json) do
    with {:ok, cache} <- cache(url) do
      {generation, keys} = current(cache, now, json)

      case EdgeSession.JWKS.verify(keys, header, input, der) do
        {:error, reason} = refused ->
          if key_missing?(header, reason),
            do: verify_refetched(cache, {generation, keys}, refused, {header, input, der}, now, json),
            else: refused

        :ok ->
          :ok
      end
    end
  rescue
    # Never an exception out of identify/3 (a cache that died mid-request, its table gone):
    # the request is anonymous. Named by module only, as the fetch's own failures are.
    error -> unavailable(url, "the cache failed (#{inspect(error.__struct__)})")
  end

  # A kid the keys lack, or no kid and no key verifies: perhaps the edge rotated its keys
  # since. A kid that names a key whose signature fails is a forgery, not a rotation.
  defp key_missing?(header, reason),
    do: reason == "unknown kid" or (reason == "bad signature" and not Map.has_key?(header, "kid"))

  defp verify_refetched(cache, {generation, _keys} = had, refused, {header, input, der}, now, json) do
    case refresh(cache, had, now, json) do
      # No newer keys: fetched less than 30 s ago, or the fetch failed.
      {^generation, _same_keys} -> refused
      {_newer, keys} -> EdgeSession.JWKS.verify(keys, header, input, der)
    end
  end

  # The keys, fetched first if there are none yet or they are over 5 minutes old.
  defp current({_pid, table, _url} = cache, now, json) do
    {generation, keys, fetched_at} =
      case :ets.lookup(table, :keys) do
        [{:keys, generation, keys, fetched_at}] -> {generation, keys, fetched_at}
        [] -> {0, [], nil}
      end

    if fetched_at != nil and not elapsed?(fetched_at, now, @max_age),
      do: {generation, keys},
      else: refresh(cache, {generation, keys}, now, json)
  end

  # Asks this URL's process to fetch: it does unless it tried less than 30 s ago, and
  # answers its keys (none once dropped) and their generation (one more per successful
  # fetch). If it does not answer in time, the keys this request had.
  defp refresh({pid, _table, url}, had, now, json) do
    GenServer.call(pid, {:refresh, now, json}, @call_timeout)
  catch
    :exit, _reason ->
      Logger.warning("edge_jwks_unavailable: #{where(url)}: no answer from its cache within #{div(@call_timeout, 1000)} s")
      had
  end

  # A clock that went back counts as time elapsed: the worst it does is one early fetch.
  defp elapsed?(since, now, period), do: now < since or now - since >= period

  # This URL's process and table, started if there is none yet.
  defp cache(url) do
    case Registry.lookup(@registry, url) do
      [{pid, table}] -> {:ok, {pid, table, url}}
      [] -> start(url)
    end
  rescue
    # Registry.lookup/2 of a registry that is not running: the application is not started.
    ArgumentError -> unavailable(url, "the :edge_session_origin application is not started")
  end

  defp start(url) do
    case DynamicSupervisor.start_child(@supervisor, {__MODULE__, url}) do
      {:error, _reason} -> unavailable(url, "its cache did not start")
      # {:ok, pid}, or :ignore when another request started it first: registered either way.
      _started -> registered(url)
    end
  catch
    :exit, _reason -> unavailable(url, "the :edge_session_origin application is not started")
  end

  defp registered(url) do
    case Registry.lookup(@registry, url) do
      [{pid, table}] -> {:ok, {pid, table, url}}
      [] -> unavailable(url, "its cache did not start")
    end
  end

  defp unavailable(url, reason) do
    Logger.warning("edge_jwks_unavailable: #{where(url)}: #{reason}")
    {:error, "JWKS unavailable"}
  end

  @doc false
  def start_link(url), do: GenServer.start_link(__MODULE__, url)

  @impl true
  def init(url) do
    # Protected: every process reads, only this one writes.
    table = :ets.new(__MODULE__, [:set, :protected, read_concurrency: true])

    case Registry.register(@registry, url, table) do
      {:ok, _owner} -> {:ok, %{url: url, table: table, generation: 0, keys: [], fetched_at: nil, last_attempt: nil}}
      {:error, {:already_registered, _pid}} -> :ignore
    end
  end

  @impl true
  def handle_call({:refresh, now, json}, _from, state) do
    # Requests that asked while a fetch was running are answered after it, inside its
    # cooldown: they share its keys. Within the cooldown the 24 h still count.
    state =
      if state.last_attempt == nil or elapsed?(state.last_attempt, now, @cooldown),
        do: fetch(state, now, json),
        else: expire(state, now)

    {:reply, {state.generation, state.keys}, state}
  end

  # One fetch, in a Task so that whatever :httpc still sends after a timeout dies with it.
  defp fetch(state, now, json) do
    task = Task.async(fn -> safe_fetch(state.url, json) end)
    result = Task.yield(task, @call_timeout - 1_000) || Task.shutdown(task, :brutal_kill)
    state = %{state | last_attempt: now}

    case result do
      {:ok, {:ok, keys}} ->
        generation = state.generation + 1
        :ets.insert(state.table, {:keys, generation, keys, now})
        %{state | generation: generation, keys: keys, fetched_at: now}

      # The edge publishes no JWKS: whatever it published before is no longer its key.
      {:ok, :not_found} ->
        drop(state, "the server answered 404 (it publishes no JWKS: the edge signs HS256?)")

      {:ok, {:error, reason}} ->
        failed(state, reason, now)

      _no_answer ->
        failed(state, "no answer within 5 s", now)
    end
  end

  # A failed fetch keeps the keys it had, unless their last good fetch is over 24 h old.
  defp failed(state, reason, now) do
    if unconfirmed_too_long?(state, now),
      do: drop(state, "#{reason}, and no fetch has succeeded for 24 h"),
      else: log_unavailable(reason, state)
  end

  # Within the cooldown (no fetch): keys whose last good fetch is over 24 h old are dropped.
  defp expire(state, now) do
    if unconfirmed_too_long?(state, now),
      do: drop(state, "no fetch has succeeded for 24 h"),
      else: state
  end

  # Not `elapsed?/3`: a clock that went back is no reason to drop keys the edge published.
  defp unconfirmed_too_long?(state, now),
    do: state.keys != [] and now - state.fetched_at > @keep_unconfirmed

  # No key verifies from now on: out of the table too, or requests would read the keys
  # there for up to 5 minutes after their fetch.
  defp drop(state, reason) do
    :ets.delete(state.table, :keys)

    dropped =
      case state.keys do
        [] -> "no key held: ES256 assertions are refused until a fetch succeeds"
        keys -> "the #{length(keys)} keys fetched before are dropped: ES256 assertions are refused until a fetch succeeds"
      end

    Logger.warning("edge_jwks_unavailable: #{where(state.url)}: #{reason}; #{dropped}")
    %{state | keys: []}
  end

  defp safe_fetch(url, json) do
    EdgeSession.JWKS.fetch(url, json)
  rescue
    # Named by its module only: an exception's message might quote what it read.
    error -> {:error, "the fetch failed (#{inspect(error.__struct__)})"}
  catch
    kind, _reason -> {:error, "the fetch failed (#{kind})"}
  end

  defp log_unavailable(reason, state) do
    kept =
      case state.keys do
        [] -> "no key held: ES256 assertions are refused until a fetch succeeds"
        keys -> "the #{length(keys)} keys fetched before still verify (24 h at most after the last good fetch)"
      end

    Logger.warning("edge_jwks_unavailable: #{where(state.url)}: #{reason}; #{kept}")
    state
  end

  # The URL without what it may carry beside the place (credentials, a query).
  defp where(url) do
    uri = URI.parse(url)
    URI.to_string(%URI{uri | userinfo: nil, query: nil, fragment: nil})
  end
end
