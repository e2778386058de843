"""The conformance table (packages/conformance/vectors.json), run through this package's
public API: one subtest per vector, named after it.

    PYTHONPATH=packages/python/src .venv/bin/python -m unittest discover -s packages/python/tests
"""

from __future__ import annotations

import base64
import json
import logging
import os
import unittest
from pathlib import Path
from typing import Any, Optional
from unittest import mock

from edge_session import (
    ASSERTION_HEADER, LOGIN_HEADER, NONCE_HEADER, STATE_HEADER, AssertionRefused, EdgeSession, decode_user,
    parse_event, parse_keys,
)

TABLE: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "conformance" / "vectors.json").read_text("utf-8"))


class Events(logging.Handler):
    """The events (the text before the first `:`) the package logs."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.events.append(record.getMessage().split(":")[0])


def edge_at(vector: dict[str, Any], jwks_as_text: bool = True) -> EdgeSession:
    """An origin configured as the vector says: ``secret`` its ORIGIN_SECRET (null: none),
    ``jwks`` its static EDGE_JWKS (null: none), given as the JSON text the environment
    would hold, or as the parsed dict. "" is unset (the environment is cleared in setUp)."""
    jwks = vector.get("jwks")
    if jwks is not None and jwks_as_text:
        jwks = json.dumps(jwks)
    return EdgeSession(secret=vector["secret"] or "", jwks=jwks, audience=vector["audience"],
                       clock=lambda: vector["now"])


def reader(headers: dict[str, Optional[str]]) -> Any:
    """A header reader over a plain dict (absent and None both read as absent)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    return lambda name: lowered.get(name.lower())


class Conformance(unittest.TestCase):
    def setUp(self) -> None:
        # The vectors say what is configured; nothing may come from this machine's environment.
        environment = mock.patch.dict(os.environ, {})
        environment.start()
        self.addCleanup(environment.stop)
        for name in ("ORIGIN_SECRET", "EDGE_JWKS", "EDGE_JWKS_URL", "DIRECTIVE_SECRET", "ADMIN_SECRET"):
            os.environ.pop(name, None)
        self.log = Events()
        logger = logging.getLogger("edge_session")
        logger.addHandler(self.log)
        logger.propagate = False  # kept here, not printed
        self.addCleanup(setattr, logger, "propagate", True)
        self.addCleanup(logger.removeHandler, self.log)

    def events(self) -> list[str]:
        events, self.log.events = self.log.events, []
        return events

    def test_assertions(self) -> None:
        for v, as_text in [(v, as_text) for v in TABLE["assertions"] for as_text in (True, False)]:
            with self.subTest(v["name"], jwks_as_text=as_text):
                self.events()
                user = edge_at(v, as_text).identify(reader({ASSERTION_HEADER: v["token"]}))
                self.assertEqual(user.as_dict() if user else None, v["claims"] if v["valid"] else None)
                # A refused token is logged, never raised (an empty header is no token at all).
                rejected = [] if v["valid"] or v["token"] == "" else ["edge_assertion_rejected"]
                self.assertEqual(self.events(), rejected)

    def test_secrets(self) -> None:
        for v in TABLE["secrets"]:
            with self.subTest(v["name"]):
                if v["valid"]:
                    self.assertTrue(parse_keys(v["secret"]))
                else:
                    with self.assertRaises(ValueError) as refused:
                        parse_keys(v["secret"])
                    self.assertNotIn(TABLE["secret_marker"], str(refused.exception), "the refusal prints the secret")

    def test_adopt(self) -> None:
        identified = TABLE["assertions"][0]
        for v in TABLE["adopt"]:
            with self.subTest(v["name"]):
                self.events()
                request = edge_at(identified).request(reader({
                    ASSERTION_HEADER: identified["token"] if v["identified"] else None,
                    STATE_HEADER: v["state_header"],
                    NONCE_HEADER: v["nonce"],
                }))
                self.assertEqual(request.refusal, v["refusal"])
                self.assertEqual(request.adopt(v["legacy_sub"]), v["adopts"])
                self.assertEqual(self.events(), [v["logs"]] if v["logs"] else [])
                if v["adopts"]:
                    payload = request.response_headers[LOGIN_HEADER].split(".")[1]
                    login = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
                    self.assertEqual([login["sub"], login["nonce"]], [v["legacy_sub"], v["nonce"]])
                else:
                    self.assertEqual(request.response_headers, {})

    def test_user_header(self) -> None:
        for v in TABLE["user_header"]:
            with self.subTest(v["header"]):
                self.assertEqual(decode_user(v["header"]), v["sub"])

    def test_events(self) -> None:
        origin_secret = TABLE["assertions"][0]["secret"]
        for v in TABLE["events"]:
            with self.subTest(v["name"]):
                # The function, and the method of an origin whose events_secret it is (its own
                # ring); a queue message with the queue option, a webhook's body without it.
                edge = EdgeSession(secret=origin_secret, events_secret=v["secret"], audience=v["audience"],
                                   clock=lambda: v["now"])
                queue = v["queue"]
                for parse in (lambda: parse_event(v["body"], secret=v["secret"], audience=v["audience"], now=v["now"],
                                                  queue=queue),
                              lambda: edge.parse_event(v["body"], queue=queue),
                              lambda: edge.parse_event(v["body"].encode(), queue=queue)):
                    if v["valid"]:
                        self.assertEqual(parse(), v["event"])
                    else:
                        with self.assertRaises(AssertionRefused) as refused:
                            parse()
                        self.assertNotIn(TABLE["secret_marker"], str(refused.exception), "the refusal prints the secret")


if __name__ == "__main__":
    unittest.main()
