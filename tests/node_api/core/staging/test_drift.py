"""Files of one pattern whose schemas drift: unified by column name, or refused naming the files and
the column (issue 15's cases, each measured against DuckDB's own union_by_name in docs/ingestion.md);
and read errors classified by cause, over real S3 (moto's server) where DuckDB reads over HTTP."""

from __future__ import annotations

import decimal
import json
import uuid
from pathlib import Path

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto.core.authorization import enable_iam_authentication

from node_api.core.staging.errors import SourceUnreachable
from node_api.core.staging.manager import StagingManager
from tests.node_api.core.staging.helpers import BUCKET, create_graph, entities, put_parquet, stage
from tests.support.aws import REGION
from tests.support.ports import free_port


@pytest.fixture(scope="module")
def embedded_engine() -> str:
    """DuckDB's side of staging: the graph engine does not matter here, so one engine (the default)."""
    return "ladybug"


def _files(root: Path, case: str, *tables: pa.Table) -> str:
    folder = root / case
    folder.mkdir()
    for name, table in zip("abcdefgh", tables, strict=False):
        pq.write_table(table, folder / f"{name}.parquet")
    return f"file://{folder}/*.parquet"


async def _rows(client, graph_id: str, sql: str) -> list[list]:
    response = await client.post(f"/databases/{graph_id}/tables/query", json={"sql": sql})
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def _no_engine_text(body: dict) -> None:
    text = json.dumps(body)
    for leak in ("Error:", "LINE 1", "duckdb", "Traceback", "std::"):
        assert leak not in text, (leak, text)


@pytest.fixture
async def graph(client) -> str:
    await create_graph(client, "g_drift")
    return "g_drift"


async def test_missing_columns_and_struct_fields_become_null(client, graph, staging_settings):
    root = staging_settings.local_root
    pattern = _files(
        root, "extra", pa.table({"id": [1], "x": ["a"]}), pa.table({"id": [2], "x": ["b"], "f": [1.5]})
    )
    staged = await stage(client, graph, "Extra", pattern)
    assert staged.status_code == 200, staged.text
    assert await _rows(client, graph, "SELECT id, x, f FROM Extra ORDER BY id") == [
        [1, "a", None],
        [2, "b", 1.5],
    ]
    # Per-file counts, as the footers declare them, on the table and in the stage's answer.
    described = (await client.get(f"/databases/{graph}/tables/Extra")).json()
    assert [(Path(f["path"]).name, f["rows"]) for f in described["files"]] == [
        ("a.parquet", 1),
        ("b.parquet", 1),
    ]
    assert all(f["bytes"] > 0 for f in described["files"]) and described["file_count"] == 2
    assert staged.json()["files"] == described["files"]

    header_a = pa.table({"id": [1], "header": [{"a": 1, "b": 2, "c": 3}]})
    header_b = pa.table({"id": [2], "header": [{"b": 4, "c": 5, "d": 6}]})
    for name, files in (("Ab", (header_a, header_b)), ("Ba", (header_b, header_a))):
        assert (
            await stage(client, graph, f"Header{name}", _files(root, f"header{name}", *files))
        ).status_code == 200
        rows = await _rows(client, graph, f"SELECT id, header FROM Header{name} ORDER BY id")
        assert rows == [[1, {"a": 1, "b": 2, "c": 3, "d": None}], [2, {"a": None, "b": 4, "c": 5, "d": 6}]]


async def test_a_null_typed_column_takes_the_other_files_type_in_any_order(client, graph, staging_settings):
    empty = pa.table({"id": [1], "tags": pa.array([None], pa.null())})
    full = pa.table({"id": [2], "tags": [["x", "y"]]})
    for case, files in (("null_first", (empty, full)), ("null_last", (full, empty))):
        staged = await stage(client, graph, case, _files(staging_settings.local_root, case, *files))
        assert staged.status_code == 200, staged.text
        assert await _rows(client, graph, f"SELECT id, tags FROM {case} ORDER BY id") == [
            [1, None],
            [2, ["x", "y"]],
        ]
        columns = (await client.get(f"/databases/{graph}/tables/{case}")).json()["columns"]
        assert columns[1] == {"name": "tags", "type": "VARCHAR[]"}


@pytest.mark.parametrize(
    ("case", "first", "second", "staged_type", "values"),
    [
        ("int_widen", pa.array([1], pa.int32()), pa.array([2**40], pa.int64()), "BIGINT", [1, 2**40]),
        (
            "mixed_sign",
            pa.array([2**63 + 5], pa.uint64()),
            pa.array([-1], pa.int64()),
            "HUGEINT",
            [2**63 + 5, -1],
        ),
        ("int_double", pa.array([2**30 + 1], pa.int32()), pa.array([1.5]), "DOUBLE", [2**30 + 1, 1.5]),
        (
            "decimals",
            pa.array([decimal.Decimal("12345678.12")], pa.decimal128(10, 2)),
            pa.array([decimal.Decimal("1.2345")], pa.decimal128(20, 4)),
            "DECIMAL(20,4)",
            [12345678.12, 1.2345],
        ),
    ],
)
async def test_types_widen_where_every_value_fits(
    client, graph, staging_settings, case, first, second, staged_type, values
):
    pattern = _files(
        staging_settings.local_root, case, pa.table({"k": [0], "v": first}), pa.table({"k": [1], "v": second})
    )
    staged = await stage(client, graph, case, pattern)
    assert staged.status_code == 200, staged.text
    assert (await client.get(f"/databases/{graph}/tables/{case}")).json()["columns"][1]["type"] == staged_type
    rows = await _rows(client, graph, f"SELECT v::VARCHAR FROM {case} ORDER BY k")
    assert [decimal.Decimal(r[0]) for r in rows] == [decimal.Decimal(str(v)) for v in values]


@pytest.mark.parametrize(
    ("case", "first", "second", "column"),
    [
        # DuckDB's union_by_name reads both as VARCHAR ('1'): a value changed, so refused.
        ("int_vs_string", pa.table({"id": pa.array([1], pa.int64())}), pa.table({"id": ["x2"]}), "id"),
        # DuckDB's union_by_name reads both as DOUBLE: 2^60+1 would come back as 2^60.
        (
            "bigint_vs_double",
            pa.table({"id": pa.array([2**60 + 1], pa.int64())}),
            pa.table({"id": [1.5]}),
            "id",
        ),
        ("date_vs_string", pa.table({"d": pa.array([1], pa.date32())}), pa.table({"d": ["hello"]}), "d"),
        ("case_only", pa.table({"Id": [1]}), pa.table({"id": [2]}), "id"),
        ("list_types", pa.table({"l": [[1]]}), pa.table({"l": [["a"]]}), "l"),
        (
            "struct_field_types",
            pa.table({"s": [{"a": 1}]}),
            pa.table({"s": [{"a": "x"}]}),
            "s",
        ),
    ],
)
async def test_unrepresentable_unions_are_refused_naming_files_and_column(
    client, graph, staging_settings, case, first, second, column
):
    pattern = _files(staging_settings.local_root, case, first, second)
    refused = await stage(client, graph, "Drift", pattern)
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["error"]["code"] == "schema_mismatch"
    assert body["error"]["details"]["column"].lower() == column
    named = [Path(p).name for paths in body["error"]["details"]["files_by_type"].values() for p in paths]
    assert sorted(named) == ["a.parquet", "b.parquet"]
    _no_engine_text(body)
    # The failed task keeps one error record per file, paged.
    task_id = body["error"]["details"]["task_id"]
    errors = (await client.get(f"/tasks/{task_id}/errors", params={"per_page": 1})).json()
    assert errors["total"] == 2 and len(errors["errors"]) == 1
    assert errors["errors"][0]["code"] == "schema_mismatch" and errors["errors"][0]["file"].endswith(
        "a.parquet"
    )
    assert (await client.get(f"/databases/{graph}/tables/Drift")).status_code == 404  # nothing staged


async def test_values_a_file_type_cannot_keep_are_refused(client, graph, staging_settings):
    root = staging_settings.local_root
    cases = {
        "ns_with_zone": pa.table({"t": pa.array([1], pa.timestamp("ns", tz="UTC"))}),
        "ns_time": pa.table({"t": pa.array([1], pa.time64("ns"))}),
        "wide_decimal": pa.table({"t": pa.array([decimal.Decimal("1" * 50)], pa.decimal256(50, 0))}),
    }
    for case, table in cases.items():
        refused = await stage(client, graph, case, _files(root, case, table))
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "schema_mismatch", (
            refused.text
        )
        assert refused.json()["error"]["details"]["column"] == "t"
    # A widening that one value does not survive (a microsecond timestamp beyond TIMESTAMP_NS's range).
    far = pa.table({"t": pa.array([2**62], pa.timestamp("us"))})
    near = pa.table({"t": pa.array([1], pa.timestamp("ns"))})
    refused = await stage(client, graph, "Far", _files(root, "far", far, near))
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "schema_mismatch", refused.text
    assert refused.json()["error"]["details"]["columns"] == ["t"]
    _no_engine_text(refused.json())


async def test_read_errors_are_classified_by_cause(client, graph, s3, staging_settings):
    cases = [
        ("s3://no-such-bucket/x/*.parquet", 404, "source_not_found"),
        (f"s3://{BUCKET}/classify/nothing-here/*.parquet", 404, "source_not_found"),
        (f"s3://{BUCKET}/classify/missing.parquet", 404, "source_not_found"),
        (f"file://{staging_settings.local_root}/missing/*.parquet", 404, "source_not_found"),
    ]
    s3.put_object(Bucket=BUCKET, Key="classify/bad/x.parquet", Body=b"PAR1 not parquet at all")
    put_parquet(s3, "classify/mixed/a.parquet", entities(2))
    s3.put_object(Bucket=BUCKET, Key="classify/mixed/b.parquet", Body=b"")
    cases += [
        (f"s3://{BUCKET}/classify/bad/*.parquet", 422, "not_parquet"),
        (f"s3://{BUCKET}/classify/mixed/*.parquet", 422, "not_parquet"),
    ]
    for pattern, status, code in cases:
        response = await stage(client, graph, "Entity", pattern)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), (
            pattern,
            response.text,
        )
        _no_engine_text(response.json())
    mixed = await stage(client, graph, "Entity", f"s3://{BUCKET}/classify/mixed/*.parquet")
    assert mixed.json()["error"]["details"]["file"] == f"s3://{BUCKET}/classify/mixed/b.parquet"


async def test_access_denied_by_the_storage(client, graph, s3, s3_endpoint):
    """moto with IAM enforced: a user without a policy is refused (403 AccessDenied), one with
    s3:GetObject/ListBucket reads; both through the caller's own credentials."""
    put_parquet(s3, "private/e.parquet", entities(3))
    iam = boto3.client("iam", endpoint_url=s3_endpoint, region_name=REGION)
    keys = {}
    suffix = uuid.uuid4().hex[:8]  # the moto server lives for the session; this test runs per engine
    for user in ("nobody", "reader"):
        iam.create_user(UserName=user + suffix)
        keys[user] = iam.create_access_key(UserName=user + suffix)["AccessKey"]
    iam.put_user_policy(
        UserName="reader" + suffix,
        PolicyName="read",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}
                ],
            }
        ),
    )

    async def stage_as(user: str):
        key = keys[user]
        return await client.post(
            f"/databases/{graph}/tables",
            json={
                "table_name": "Private",
                "s3_pattern": f"s3://{BUCKET}/private/*.parquet",
                "s3_credentials": {
                    "aws_access_key_id": key["AccessKeyId"],
                    "aws_secret_access_key": key["SecretAccessKey"],
                },
            },
        )

    with enable_iam_authentication():
        denied = await stage_as("nobody")
        allowed = await stage_as("reader")
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "access_denied", denied.text
    _no_engine_text(denied.json())
    assert allowed.status_code == 200 and allowed.json()["row_count"] == 3, allowed.text


def test_an_unreachable_storage_is_502(staging_settings, tmp_path):
    closed = free_port()
    settings = staging_settings.model_copy(update={"s3_endpoint_url": f"http://127.0.0.1:{closed}"})
    manager = StagingManager(tmp_path, settings)
    try:
        with pytest.raises(SourceUnreachable) as refused:
            manager.create_table("g_unreachable", "T", f"s3://{BUCKET}/x/*.parquet")
        assert refused.value.status_code == 502 and "127.0.0.1" not in refused.value.message
    finally:
        manager.close()
