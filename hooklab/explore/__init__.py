"""Exploring payloads: which fields captures carry (schema), how two captures differ (diff),
and read-only SQL over a ``captures`` view.

>>> len(lab.schema(event_type="payment_intent.succeeded")) > 10
True
>>> lab.json_schema("payment_intent.succeeded")["type"]
'object'
>>> lab.diff(cap.id, cap.id).empty                 # ids or captures
True
>>> lab.sql("SELECT json_extract(payload, '$.data.object.amount') AS amount FROM captures")
   amount
0    2000

These functions work on rows and captures; :class:`hooklab.HookLab` wires them to its store.
"""

from .diff import (
    DIFF_COLUMNS,
    MAX_DIFF_DEPTH,
    MAX_DIFF_ROWS,
    MAX_DIFF_STEPS,
    MAX_VALUE_DEPTH,
    VALUE_TEXT_CHARS,
    diff_frame,
    diff_rows,
    diff_values,
)
from .payload import (
    BODY,
    MAX_FORM_FIELDS,
    MAX_PARSE,
    TYPE_ORDER,
    Payload,
    capture_payload,
    column_name,
    displayable,
    field_name,
    json_type,
    read_payload,
    shown_payload,
)
from .schema import (
    LARGE_BODY,
    MAX_DEPTH,
    MAX_FIELDS,
    MAX_ITEMS,
    MAX_NODES,
    SCHEMA_COLUMNS,
    SchemaBuilder,
    infer_json_schema,
    is_credential_field,
    json_schema,
    keep_summaries_up,
    schema_frame,
)
from .sql import VIEW_COLUMNS, ReadOnlyError, check_statement, run_sql

__all__ = [
    "BODY",
    "DIFF_COLUMNS",
    "LARGE_BODY",
    "MAX_DEPTH",
    "MAX_DIFF_DEPTH",
    "MAX_DIFF_ROWS",
    "MAX_DIFF_STEPS",
    "MAX_FIELDS",
    "MAX_FORM_FIELDS",
    "MAX_ITEMS",
    "MAX_NODES",
    "MAX_PARSE",
    "MAX_VALUE_DEPTH",
    "SCHEMA_COLUMNS",
    "TYPE_ORDER",
    "VALUE_TEXT_CHARS",
    "VIEW_COLUMNS",
    "Payload",
    "ReadOnlyError",
    "SchemaBuilder",
    "capture_payload",
    "check_statement",
    "column_name",
    "diff_frame",
    "diff_rows",
    "diff_values",
    "displayable",
    "field_name",
    "infer_json_schema",
    "is_credential_field",
    "json_schema",
    "json_type",
    "keep_summaries_up",
    "read_payload",
    "run_sql",
    "schema_frame",
    "shown_payload",
]
