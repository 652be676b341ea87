"""Engine error text -> a message in the API's words, safe to put in a response body.

Clients see the engine's first useful line when it is about their statement ("Binder exception: Table
X does not exist."), never a stack trace, a source or node file path, a pybind11 message or Python
exception text. The full text goes to the log (`log_engine_error`), which carries the request id
(core/middleware.py binds it for the request), so an operator can match a body to its cause.
"""

from __future__ import annotations

import re

import structlog

log = structlog.get_logger("node_api.engine_errors")

MAX_MESSAGE_CHARS = 500

# Kuzu/LadybugDB prefix every exception with its kind: "Binder exception: ...".
_ENGINE_LINE = re.compile(r"^(?:[A-Z][a-z]+(?: [a-z]+)*) exception: ")

# Text that only comes from the layers under the engine: pybind11, CPython, C++ frames, the JVM.
_INTERNALS = re.compile(
    r"pybind11|PYBIND11|incompatible function arguments|Unable to cast Python instance|"
    r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|<class '|object has no attribute|"
    r"NoneType|std::|\w::\w|\.(?:cpp|cc|hpp|h|py|java):\d+|\b0x[0-9a-fA-F]{6,}\b|"
    r"^\s*at [\w$.]+\(|^\s*#\d+\s|(?:^|\s)(?:java|javax|com|org|io)\.[\w$.]+(?:Exception|Error)\b|"
    r"^(?:[A-Z]\w*(?:Error|Exception|Warning)|KeyboardInterrupt|SystemExit): |"
    # OSError text from the worker's own Python ("[Errno 2] No usable temporary directory found").
    r"^\[Errno \d+\]",
    re.MULTILINE,
)

# Absolute paths name the node's directories (/data/kuzu-dbs/t1/graph.kuzu); a tenant's own path in a
# message is masked too, a small price for never echoing the node's.
_PATH = re.compile(r"(?<!\w)(?:/[\w.@%+=-]+){2,}/?")

# Known Python-layer messages of the engines, reworded (matched on the full text).
_REWORDED: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"Cannot convert Python object to \w+ value : (.+)"),
     "a parameter value does not have the type the statement expects: {0}"),
    (re.compile(r"Unable to cast Python instance of type <class '(\w+)'>"),
     "a parameter value of type {0} is out of the range the engine accepts"),
    (re.compile(r"Values of type <class '(\w+)'> are not supported"),
     "parameter values of type {0} are not supported"),
    (re.compile(r"incompatible function arguments"),
     "the engine could not accept the statement's parameters as given"),
)

GENERIC = "the engine could not run the statement (details are in the node's log under this request id)"


def public_message(engine_text: str) -> str:
    """The part of an engine's error text a client may see: the first non-empty line, without file
    paths, at most MAX_MESSAGE_CHARS characters; a fixed sentence when the text is internal
    (pybind11, Python, C++ or Java frames)."""
    for pattern, template in _REWORDED:
        if match := pattern.search(engine_text):
            detail = public_message(match.group(1)) if match.groups() else ""
            return template.format(detail.rstrip(". "))[:MAX_MESSAGE_CHARS]
    line = next((candidate.strip() for candidate in engine_text.splitlines() if candidate.strip()), "")
    if not line:
        return GENERIC
    if _INTERNALS.search(line) and not _ENGINE_LINE.match(line):
        return GENERIC
    if _ENGINE_LINE.match(line) and _INTERNALS.search(line):
        line = _INTERNALS.split(line, maxsplit=1)[0].rstrip(" :(") or GENERIC
    line = _PATH.sub("<path>", line)
    if len(line) > MAX_MESSAGE_CHARS:
        line = line[: MAX_MESSAGE_CHARS - 3] + "..."
    return line


def log_engine_error(engine: str, exc: BaseException, public: str) -> None:
    """The full engine error for the operator (the request id comes from the logging context): a
    warning when `public`, what the client saw, hides part of it, else at info level."""
    text = str(exc)
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    level = log.info if public == first_line else log.warning
    level("engine error", engine=engine, error_type=type(exc).__name__, error=text, public_message=public)
