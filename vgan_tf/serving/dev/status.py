"""What the development server answers when a request fails: a gRPC status code name and
a message, as TF Serving words them; TF op errors mapped onto the same codes."""
from __future__ import annotations

import re

import grpc


class ServingStatus(Exception):
    """An error to answer: `code` is a grpc.StatusCode name."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def status_name(code: int) -> str:
    """TF error code (same numbering as gRPC) -> grpc.StatusCode name."""
    for status in grpc.StatusCode:
        if status.value[0] == code:
            return status.name
    return "UNKNOWN"


def op_error_text(message: str) -> str:
    """The op's own words from a TF error, without graph-execution boilerplate."""
    kept = []
    for line in message.splitlines():
        line = line.strip()
        if not line or line.startswith(("Graph execution error", "Detected at node",
                                        "<stack traces", "File ", "[[")):
            continue
        kept.append(re.sub(r"\s*\[\[\{\{node .*$|\s*\[Op:[^\]]*\]$", "", line))
    return " ".join(k for k in kept if k) or message.strip()
