"""One streamed CSV download for every page that offers one (exports, reports).

The cells go through `crm.lib.csvsafe.stream` (UTF-8 BOM, formula neutralisation);
the response names the file and streams inside the request context. The audit event is
recorded before this is called, so the unit of work (crm/uow.py) commits it before the
first row is streamed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flask import Response, stream_with_context

from crm.lib import csvsafe


def csv_download(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]], *,
                 headers: Mapping[str, str] | None = None) -> Response:
    """A CSV attachment called `filename`, streamed row by row (plus any extra `headers`)."""
    return Response(stream_with_context(csvsafe.stream(header, rows)),
                    mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             **(headers or {})})
