"""Bulk insert of plain tuples into an analytics table, for the recompute and the state rebuild."""

from __future__ import annotations

from django.db import connections

DB = "analytics"
BATCH = 5000


def write_rows(model, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """COPY on PostgreSQL (building ~1M model instances would cost more than computing the
    scores), executemany elsewhere."""
    if not rows:
        return
    conn = connections[DB]
    table = model._meta.db_table
    cols = ", ".join(columns)
    with conn.cursor() as cur:
        if conn.vendor == "postgresql":
            with cur.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            for k in range(0, len(rows), BATCH):
                cur.executemany(
                    f"INSERT INTO {table} ({cols}) VALUES ({marks})",  # noqa: S608 our names
                    rows[k : k + BATCH],
                )
