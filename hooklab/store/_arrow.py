"""Which Arrow memory pool large columns are built in; DuckDB, where a Parquet dataset needs it.

>>> arrow_pool().backend_name in ("system", "mimalloc", "jemalloc")
True
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["arrow_pool", "duckdb_module"]


def arrow_pool() -> Any:
    """The ``pyarrow.MemoryPool`` to pass to Arrow calls that build large columns (a Parquet
    dataset read into a table, sorting it, the compressed body blocks of a frame): the C
    library's allocator, unless the person chose a pool (``ARROW_DEFAULT_MEMORY_POOL``) or the
    default is not mimalloc. The process's default pool is never changed.

    Why: on pyarrow's default pool on Linux (mimalloc), reading 1,000,000 captures with their
    bodies from Parquet took 5.7 s against 0.8 s, and sorting them by id 9.1 s against 0.8 s;
    ``hooklab.open(<parquet>).dataframe()`` of them 13 - 16 s against 3.4 - 3.6 s in a fresh
    process (bench/README.md). Large buffers that grow are what is slow there.
    """
    import pyarrow as pa

    default = pa.default_memory_pool()
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL") or default.backend_name != "mimalloc":
        return default
    return pa.system_memory_pool()


def duckdb_module() -> Any:
    """``import duckdb`` (a dependency of hooklab, imported when first used), or an
    ``ImportError`` that says what needs it and how to get it back."""
    try:
        import duckdb
    except ImportError as exc:
        raise ImportError(
            "lab.sql and schema() of a Parquet dataset run in DuckDB, which is not "
            "installed here: pip install 'duckdb>=1.3'") from exc
    return duckdb
