"""The conformance checks, shared by both engines: every case on every transport, and back again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from client import AsyncGraphClient, GraphClient
from node_api.models.values import decode_value
from tests.node_api.backends.values.cases import Case
from tests.node_api.backends.values.support import raw_rows, same
from tests.support.node import API_KEY

Expected = Callable[[Case], tuple[Any, Any]]  # case -> (wire, Python)


def plain(case: Case) -> tuple[Any, Any]:
    return case.wire, case.python


async def raw_problems(client: httpx.AsyncClient, graph_id: str, cases: list[Case], transport: str,
                       expected: Expected = plain) -> list[str]:
    problems = []
    for case in cases:
        status, rows = await raw_rows(client, graph_id, case.cypher, case.extra.get("parameters"), transport)
        if status != 200:
            problems.append(f"{case.name}: HTTP {status} {rows}")
            continue
        problems += same(rows[0][0], expected(case)[0], f"{case.name} ({transport})")
    return problems


async def raw_round_trip_problems(client: httpx.AsyncClient, graph_id: str, cases: list[Case]) -> list[str]:
    """Each returned wire value, sent back unchanged as `$v`, compares as the case says."""
    problems = []
    for case in cases:
        status, rows = await raw_rows(client, graph_id, case.cypher, case.extra.get("parameters"), "json")
        assert status == 200, (case.name, rows)
        parameters = {**case.extra.get("parameters", {}), "v": rows[0][0]}
        back = case.back_cypher or f"{case.match} RETURN $v AS ok"
        status, answer = await raw_rows(client, graph_id, back, parameters, "json")
        problems += _judge(case, status, answer)
    return problems


def _judge(case: Case, status: int, answer: Any) -> list[str]:
    if case.back is None:
        ok = status == 400 and answer["error"]["code"] == "invalid_parameter"
        return [] if ok else [f"{case.name}: a graph value as a parameter gave {status} {answer}"]
    if status != case.back_status:
        return [f"{case.name}: sending the value back gave HTTP {status} {answer}"]
    if status == 200 and answer != [[case.back_expected]]:
        return [f"{case.name}: {case.back_cypher} gave {answer}, not {case.back_expected}"]
    return []


def client_problems(url: str, graph_id: str, cases: list[Case], transport: str,
                    expected: Expected = plain) -> list[str]:
    """Both clients (sync / async, JSON / NDJSON stream): decoded values, then sent back as they are."""
    stream = transport.endswith("stream")
    if transport.startswith("async"):
        return asyncio.run(_async_client_problems(url, graph_id, cases, stream, expected))
    with GraphClient(url, API_KEY) as c:
        def rows_of(cypher: str, parameters: dict[str, Any]) -> list[list[Any]]:
            if stream:
                with c.query_stream(graph_id, cypher, parameters) as rows:
                    return list(rows)
            return c.query(graph_id, cypher, parameters).rows

        problems = []
        for case in cases:
            problems += _client_case(case, transport, expected, rows_of)
        return problems


async def _async_client_problems(url: str, graph_id: str, cases: list[Case], stream: bool,
                                 expected: Expected) -> list[str]:
    async with AsyncGraphClient(url, API_KEY) as c:
        async def rows_of(cypher: str, parameters: dict[str, Any]) -> list[list[Any]]:
            if stream:
                async with c.query_stream(graph_id, cypher, parameters) as rows:
                    return [row async for row in rows]
            return (await c.query(graph_id, cypher, parameters)).rows

        problems = []
        for case in cases:
            results: dict[str, Any] = {}
            for key, cypher, params in _client_calls(case):
                try:
                    results[key] = await rows_of(cypher, params(results))
                except Exception as exc:  # noqa: BLE001 - reported per case
                    results[key] = exc
                    break
            problems += _client_verdict(case, "async" + ("_stream" if stream else ""), expected, results)
        return problems


def _client_calls(case: Case) -> list[tuple[str, str, Callable[[dict[str, Any]], dict[str, Any]]]]:
    extra = {k: decode_value(v) for k, v in case.extra.get("parameters", {}).items()}
    calls = [("value", case.cypher, lambda results: extra)]
    if case.back is not None:
        calls.append(("back", case.back_cypher or "", lambda results: {**extra, "v": results["value"][0][0]}))
    return calls


def _client_case(case: Case, transport: str, expected: Expected,
                 rows_of: Callable[[str, dict[str, Any]], list[list[Any]]]) -> list[str]:
    results: dict[str, Any] = {}
    for key, cypher, params in _client_calls(case):
        try:
            results[key] = rows_of(cypher, params(results))
        except Exception as exc:  # noqa: BLE001 - reported per case
            results[key] = exc
            break
    return _client_verdict(case, transport, expected, results)


def _client_verdict(case: Case, transport: str, expected: Expected, results: dict[str, Any]) -> list[str]:
    label = f"{case.name} ({transport})"
    value = results["value"]
    if isinstance(value, Exception):
        return [f"{label}: {type(value).__name__}: {value}"]
    problems = same(value[0][0], expected(case)[1], label)
    if case.back is None:
        return problems
    answer = results.get("back")
    if isinstance(answer, Exception):
        if case.back_status == 200 or getattr(answer, "status_code", None) != case.back_status:
            problems.append(f"{label}: sending it back raised {type(answer).__name__}: {answer}")
    elif case.back_status != 200 or answer != [[case.back_expected]]:
        problems.append(f"{label}: {case.back_cypher} gave {answer}")
    return problems
