"""Engine error text in the API's words (node_api/backends/messages.py)."""

from __future__ import annotations

import pytest

from node_api.backends.messages import GENERIC, MAX_MESSAGE_CHARS, public_message

# (engine text, expected public message): real texts from Kuzu 0.11.3, pybind11, CPython and ArcadeDB.
CASES = [
    ("Binder exception: Table Nope does not exist.", "Binder exception: Table Nope does not exist."),
    ("Parser exception: Invalid input <RETURN 1 +>: expected rule oC_RegularQuery (line: 1, offset: 10)\n"
     "\"RETURN 1 +\"\n           ^",
     "Parser exception: Invalid input <RETURN 1 +>: expected rule oC_RegularQuery (line: 1, offset: 10)"),
    ("Binder exception: Cannot match a built-in function for given function +(STRING,INT64). Supported "
     "inputs are\n(INT128,INT128) -> INT128\n(INT64,INT64) -> INT64",
     "Binder exception: Cannot match a built-in function for given function +(STRING,INT64). Supported "
     "inputs are"),
    ("Unable to cast Python instance of type <class 'int'> to C++ type '?' (#define "
     "PYBIND11_DETAILED_ERROR_MESSAGES or compile in debug mode for details)",
     "a parameter value of type int is out of the range the engine accepts"),
    ("Runtime exception: Cannot convert Python object to Kuzu value : INT8  is incompatible with STRUCT(b INT8)",
     "a parameter value does not have the type the statement expects: INT8  is incompatible with STRUCT(b INT8)"),
    ("execute(): incompatible function arguments. The following argument types are supported:\n"
     "    1. (self: _kuzu.Connection, arg0: _kuzu.PreparedStatement, arg1: dict) -> _kuzu.QueryResult",
     "the engine could not accept the statement's parameters as given"),
    ("Traceback (most recent call last):\n  File \"/srv/node_api/x.py\", line 3, in f\nKeyError: 'a'", GENERIC),
    ("TypeError: unhashable type: 'list'", GENERIC),
    ("'NoneType' object has no attribute 'execute'", GENERIC),
    ("IO exception: Cannot open file /data/kuzu-dbs/tenant_b/graph.kuzu.wal: No such file",
     "IO exception: Cannot open file <path>: No such file"),
    ("Runtime exception: out of memory std::bad_alloc at 0x7fff12345678", "Runtime exception: out of memory"),
    ("com.arcadedb.exception.CommandParsingException: Error on parsing", GENERIC),
    ("Values of type <class 'object'> are not supported", "parameter values of type object are not supported"),
    ("Parameter b not found.", "Parameter b not found."),
    ("", GENERIC),
]


@pytest.mark.parametrize(("engine_text", "public"), CASES)
def test_public_message(engine_text: str, public: str) -> None:
    assert public_message(engine_text) == public


def test_long_messages_are_cut() -> None:
    assert len(public_message("Runtime exception: " + "x" * 5000)) == MAX_MESSAGE_CHARS
