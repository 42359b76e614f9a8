"""The one base class of the mistakes a user can make, so the CLI can answer each with one line.

A `UserError` is about what was asked for (a config value, a file, a task spec, a server address,
a port), never about a bug: the CLI prints its message and exits non-zero, with no traceback, and
the stage that raised it has written nothing it would lose. Each module keeps its own subclass
(`ConfigError`, `RecordError`, `RewardError`, ...) so callers can still catch the narrow kind.
"""

from __future__ import annotations

import errno
import socket


class UserError(Exception):
    """A mistake in the user's input; the message says where and what is allowed."""


def check_port_free(host: str, port: int, what: str) -> None:
    """Fail before loading anything heavy when `host:port` is taken (or not this machine's)."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        # as the servers themselves do: connections of a server that just exited (TIME_WAIT) do not
        # block the port, a server listening on it does
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            why = "is already in use" if e.errno == errno.EADDRINUSE else f"cannot be bound ({e.strerror})"
            raise UserError(f"{what}: {host}:{port} {why}; pick another with --port") from None
