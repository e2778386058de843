# JSON for the tests through :jiffy (EdgeSession.JiffyJSON): Hex, and so Jason, is
# unreachable here.

ExUnit.start()
