"""What every LSQ web process's gunicorn starts with: ``gunicorn -c python:shared.gunicorn_conf``.

gunicorn answers some requests before the app sees them: a request line longer than
``limit_request_line`` (414), headers too large (431), a malformed request line (400). It writes
those as an HTML page; here they get the one LSQ JSON error body instead (``shared.web``), so a
client never has to parse two shapes. gunicorn has no hook for that body, so its one writer of
error pages, ``gunicorn.util.write_error``, is replaced when this configuration is loaded.
"""
import json

import gunicorn.util

from shared.web import GENERIC_ZH

# gunicorn's defaults, written down so that they are seen: a URI of up to 8 KiB (the largest
# gunicorn allows; 4 KiB by default) and 100 headers of up to 8 KiB each.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's error page, as the LSQ JSON error body."""
    body = json.dumps({
        "status": status_int, "code": {414: "uri_too_long", 431: "headers_too_large"}.get(status_int,
                                                                                           f"http_{status_int}"),
        "message": f"{reason}: {mesg}" if mesg else reason,
        "message_zh": GENERIC_ZH.get(status_int, reason), "request_id": None,
    }, ensure_ascii=False).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1")
    gunicorn.util.write_nonblock(sock, head + body)


gunicorn.util.write_error = write_json_error
