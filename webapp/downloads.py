"""Files the browser saves: every download goes through Flask's send_file.

send_file writes the Content-Disposition header the RFC 6266 way: an ASCII `filename` for
old clients and `filename*=UTF-8''...` (percent-encoded) when the name is not ASCII, so a
business key with Chinese, quotes or spaces makes a correct header instead of a 500.
"""

from __future__ import annotations

import io

from flask import Response, send_file


def attachment(body: bytes | str, filename: str, mimetype: str) -> Response:
    """A download of `body` (text is sent as UTF-8) that the browser saves as `filename`."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=filename)
