# JSON for the tests through :jiffy (EdgeSession.JiffyJSON): Hex, and so Jason, is
# unreachable here.

Code.require_file("support/es256.exs", __DIR__)
ExUnit.start()
