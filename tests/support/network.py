"""Addresses for tests: a local port nothing listens on."""

import socket


def unused_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (nothing listens on it: connecting is refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
