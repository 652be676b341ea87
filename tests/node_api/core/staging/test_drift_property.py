"""Property: Parquet files whose schemas drift (columns missing, types differing, struct fields
coming and going, NULL-typed columns) are staged with every value written read back exactly, or
the stage is refused with schema_mismatch; and files that agree on every column's type are never
refused. Real pyarrow files, the node's real staging path (StagingManager), a fresh folder per
example under the development root.
"""

from __future__ import annotations

import decimal
import math
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from node_api.core.staging.errors import SchemaMismatch
from node_api.core.staging.manager import StagingManager

_INT_RANGES = {
    pa.int8(): (-(2**7), 2**7 - 1),
    pa.int16(): (-(2**15), 2**15 - 1),
    pa.int32(): (-(2**31), 2**31 - 1),
    pa.int64(): (-(2**63), 2**63 - 1),
    pa.uint8(): (0, 2**8 - 1),
    pa.uint16(): (0, 2**16 - 1),
    pa.uint32(): (0, 2**32 - 1),
    pa.uint64(): (0, 2**64 - 1),
}
_SCALARS = [
    *_INT_RANGES,
    pa.float32(),
    pa.float64(),
    pa.string(),
    pa.bool_(),
    pa.date32(),
    pa.decimal128(9, 2),
    pa.decimal128(18, 0),
    pa.decimal128(30, 6),
]
_TIMESTAMPS = [pa.timestamp("ms"), pa.timestamp("us"), pa.timestamp("ns"), pa.timestamp("us", tz="UTC")]
_NS_PER = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}

scalar_types = st.sampled_from(_SCALARS)
nested_types = st.one_of(
    scalar_types,
    scalar_types.map(pa.list_),
    st.dictionaries(
        st.sampled_from(["f0", "f1", "f2"]),
        st.one_of(scalar_types, st.just(pa.null())),
        min_size=1,
        max_size=3,
    ).map(lambda fields: pa.struct(list(fields.items()))),
    scalar_types.map(lambda t: pa.map_(pa.string(), t)),
)
column_types = st.one_of(nested_types, st.sampled_from(_TIMESTAMPS), st.just(pa.null()))


def values_of(t: pa.DataType) -> st.SearchStrategy[Any]:
    if t in _INT_RANGES:
        low, high = _INT_RANGES[t]
        return st.integers(low, high)
    if pa.types.is_floating(t):
        width = 32 if t == pa.float32() else 64
        return st.floats(width=width, allow_nan=True, allow_infinity=True)
    if pa.types.is_string(t):
        return st.text(max_size=8)
    if pa.types.is_boolean(t):
        return st.booleans()
    if pa.types.is_date(t):
        return st.dates()
    if pa.types.is_decimal(t):
        digits = t.precision - t.scale
        return st.decimals(
            min_value=-(10**digits) + 1,
            max_value=10**digits - 1,
            places=t.scale,
            allow_nan=False,
            allow_infinity=False,
        )
    if pa.types.is_timestamp(t):
        # In the type's unit, within what DuckDB holds (ms: +-2^52), beyond TIMESTAMP_NS for us.
        bound = {"ms": 2**52, "us": 2**55, "ns": 2**62}[t.unit]
        return st.integers(-bound, bound)
    if pa.types.is_null(t):
        return st.none()
    if pa.types.is_list(t):
        return st.lists(values_of(t.value_type), max_size=3)
    if pa.types.is_struct(t):
        return st.fixed_dictionaries({f.name: values_of(f.type) for f in t})
    if pa.types.is_map(t):
        return st.dictionaries(st.text(max_size=4), values_of(t.item_type), max_size=3).map(
            lambda d: list(d.items())
        )
    raise AssertionError(t)


@st.composite
def drifting_files(draw: st.DrawFn) -> list[pa.Table]:
    names = ["c0", "c1", "c2"]
    files = []
    next_key = 0
    for _ in range(draw(st.integers(1, 3))):
        chosen = draw(st.lists(st.sampled_from(names), unique=True, max_size=3))
        types = {name: draw(column_types) for name in chosen}
        rows = draw(st.integers(1, 3))
        columns: dict[str, pa.Array] = {"k": pa.array(range(next_key, next_key + rows), pa.int64())}
        for name, t in types.items():
            values = [draw(st.one_of(st.none(), values_of(t))) for _ in range(rows)]
            timestamps = pa.types.is_timestamp(t)
            columns[name] = pa.array(values, pa.int64()).cast(t) if timestamps else pa.array(values, t)
        next_key += rows
        files.append(pa.table(columns))
    return files


def _plain(array: pa.ChunkedArray | pa.Array) -> list[Any]:
    """Python values, timestamps as integer nanoseconds (pyarrow gives no ns datetimes)."""
    if pa.types.is_timestamp(array.type):
        factor = _NS_PER[array.type.unit]
        return [None if v is None else v * factor for v in array.cast(pa.int64()).to_pylist()]
    return array.to_pylist()


def _same(written: Any, staged: Any) -> bool:
    if written is None:
        return staged is None
    if isinstance(written, dict):
        return (
            isinstance(staged, dict)
            and all(_same(v, staged.get(k)) for k, v in written.items())
            and all(staged[k] is None for k in staged.keys() - written.keys())
        )
    if isinstance(written, list):
        return (
            isinstance(staged, list)
            and len(written) == len(staged)
            and all(_same(w, s) for w, s in zip(written, staged, strict=True))
        )
    if isinstance(written, tuple):  # map entries
        return isinstance(staged, tuple) and _same(list(written), list(staged))
    if isinstance(written, float) and math.isnan(written):
        return isinstance(staged, float) and math.isnan(staged)
    if isinstance(written, bool) or isinstance(staged, bool):
        return type(written) is type(staged) and written == staged
    if isinstance(written, (int, float, decimal.Decimal)):
        return isinstance(staged, (int, float, decimal.Decimal)) and decimal.Decimal(
            written
        ) == decimal.Decimal(staged)
    return written == staged


@pytest.fixture(scope="module")
def manager(tmp_path_factory: pytest.TempPathFactory):
    from node_api.core.staging.settings import StagingSettings

    root = tmp_path_factory.mktemp("drift-root")
    settings = StagingSettings(GRAPH_API_STAGING_LOCAL_ROOT=str(root))
    staging = StagingManager(tmp_path_factory.mktemp("drift-dbs"), settings)
    yield staging, root
    staging.close()


@settings(
    max_examples=int(__import__("os").environ.get("DRIFT_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(files=drifting_files())
def test_every_value_is_read_back_or_the_stage_is_refused(manager, files: list[pa.Table]) -> None:
    staging, root = manager
    folder = Path(tempfile.mkdtemp(dir=root))
    for index, table in enumerate(files):
        pq.write_table(table, folder / f"part-{index}.parquet")
    try:
        staged = staging.create_table("g_property", "T", f"file://{folder}/*.parquet")
    except SchemaMismatch:
        # Refused: only when the files really disagree on some column's type.
        types: dict[str, set[str]] = {}
        for table in files:
            for field in table.schema:
                if not pa.types.is_null(field.type):
                    types.setdefault(field.name, set()).add(str(field.type))
        assert any(len(seen) > 1 for seen in types.values()), [t.schema for t in files]
        event("refused")
        return
    event(f"staged from {len(files)} files")
    assert staged.row_count == sum(t.num_rows for t in files)
    data = staging.database("g_property").read_arrow('SELECT * FROM main."T" ORDER BY k')
    staged_rows = {row["k"]: row for row in _rows(data)}
    for table in files:
        for written in _rows(table):
            row = staged_rows[written["k"]]
            for name, value in written.items():
                assert _same(value, row[name]), (name, value, row[name], table.schema, data.schema)
            for name in row.keys() - written.keys():
                assert row[name] is None, (name, row[name])


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    columns = {name: _plain(table.column(name)) for name in table.column_names}
    return [{name: values[i] for name, values in columns.items()} for i in range(table.num_rows)]
