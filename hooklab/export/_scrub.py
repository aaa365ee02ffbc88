"""What an export writes of a capture stored before its lab was given a secret
(``lab.secret``): the secret as ``[secret]``, as in captures stored after it."""

from __future__ import annotations

from typing import Any

__all__ = ["book_of", "scrubbed_columns", "stored_before"]


def book_of(store: Any) -> Any:
    """The secrets of ``store``'s lab (a :class:`~hooklab.signatures.book.SecretBook`) when
    any are given, else ``None``: what an export writes as ``[secret]`` in a capture stored
    before they were given."""
    book = getattr(store, "secrets", None)
    return book if book else None


def stored_before(store: Any, ids: Any) -> list[bool]:
    """For each capture id of ``ids``: whether its secrets may need hiding, i.e. ``store``
    did not scrub it on arrival of every secret given since
    (``CaptureStore.scrubbed_on_arrival``: stored before one, imported, another process's)."""
    clean = getattr(store, "scrubbed_on_arrival", None)
    return [True] * len(ids) if clean is None else [not clean(int(i)) for i in ids]


def scrubbed_columns(table: Any, book: Any, store: Any = None) -> Any:
    """``table`` (``CaptureStore.columns``) with the secrets of ``book`` as ``[secret]`` in
    its text columns (``bin``, ``path``, ``event_type``, ``delivery_id``): each value of a
    dictionary read once, however many rows share it. With ``store``, the table as it is
    when ``store`` scrubbed every capture of it on arrival (:func:`stored_before`)."""
    import pyarrow as pa

    if store is not None and "id" in table.column_names and not any(
            stored_before(store, table.column("id").to_pylist())):
        return table

    for name in ("bin", "path", "event_type", "delivery_id"):
        if name not in table.column_names:
            continue
        column = table.column(name)
        chunks, changed = [], False
        for chunk in column.chunks:
            values = chunk.dictionary if pa.types.is_dictionary(chunk.type) else chunk
            given = values.to_pylist()
            shown = [v if v is None else book.scrub_text(v) for v in given]
            if shown != given:
                changed = True
                new = pa.array(shown, values.type)
                chunk = (pa.DictionaryArray.from_arrays(chunk.indices, new)
                         if pa.types.is_dictionary(chunk.type) else new)
            chunks.append(chunk)
        if changed:
            table = table.set_column(table.column_names.index(name), name,
                                     pa.chunked_array(chunks, column.type))
    return table
