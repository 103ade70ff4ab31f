"""CSV import of partners (and optionally one contact per row), and of agreements
(`agreements`, issue 15: the same pages and job, `ImportJob.kind`; `KINDS` says what each
kind uses).

Three steps, each usable from the web page, the Celery task and the CLI:

1. `decode_upload` turns the uploaded bytes into text (UTF-8, else Latin-1 — and says so)
   and refuses what is not a CSV file, empty or too large.
2. `check_rows` validates every row against the column `mapping` and matches it against
   the database in bulk (name+country for partners, email for contacts): the preview.
3. `run_import` writes the checked rows in chunks of bulk INSERT/UPDATE statements (no
   per-row round trip). It only flushes: the caller commits once, so a file is imported
   entirely or not at all, and re-importing the same file changes nothing.

One module per job, in the order data flows through them:

- `reading`  bytes → text → (header, rows); refuses what is not CSV
- `mapping`  which column feeds which field (guessed, then chosen)
- `rows`     one row normalised and checked on its own
- `preview`  every row matched against the database in bulk (`check_rows`)
- `writers`  bulk INSERT/UPDATE/COPY of the checked rows (`run_import`)
- `jobs`     the ImportJob lifecycle (create, execute, progress, failure, results)

Callers use this package's names (`imports.check_rows`, …); each module imports only
those before it.
"""

from __future__ import annotations

from .jobs import (
    ADMIN_RESULT_HEADER,
    KINDS,
    RESULT_HEADER,
    create_job,
    execute_job,
    job_table,
    mark_failed,
    result_rows,
    store_progress,
)
from .mapping import FIELDS, REQUIRED_FIELDS, auto_mapping, clean_mapping
from .preview import CHUNK, UPDATABLE, WITHHELD, Checked, check_rows
from .reading import Decoded, decode_upload, read_table
from .rows import FALSE, TRUE, RowCheck, country_code, sector_code
from .writers import OUTCOMES, Outcome, run_import

__all__ = [
    "ADMIN_RESULT_HEADER",
    "CHUNK",
    "FALSE",
    "FIELDS",
    "KINDS",
    "OUTCOMES",
    "REQUIRED_FIELDS",
    "RESULT_HEADER",
    "TRUE",
    "UPDATABLE",
    "WITHHELD",
    "Checked",
    "Decoded",
    "Outcome",
    "RowCheck",
    "auto_mapping",
    "check_rows",
    "clean_mapping",
    "country_code",
    "create_job",
    "decode_upload",
    "execute_job",
    "job_table",
    "mark_failed",
    "read_table",
    "result_rows",
    "run_import",
    "sector_code",
    "store_progress",
]
