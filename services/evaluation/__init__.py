"""Evaluation service: periodic multi-source evaluation of every staff member (port 8102)."""
from urllib.parse import unquote_to_bytes

from flask import request

from shared.errors import Invalid
from shared.web import create_service_app


def create_app(config: dict | None = None):
    """The evaluation web app (``gunicorn "services.evaluation:create_app()"``)."""
    from services.evaluation.api import blp
    app = create_service_app(
        "evaluation", title="LSQ Evaluation / 员工评价", config=config, blueprints=[blp],
        description="Rubrics, evaluation cycles, reader/supervisor/peer/self ratings, scores, grades and "
                    "appeals. Publishes lsq.cycle.* and lsq.evaluation.* events; consumes staff, branch, "
                    "rating, praise and complaint events.")
    app.before_request(refuse_nul_characters)
    return app


def refuse_nul_characters() -> None:
    """422 for a NUL character anywhere in the request: PostgreSQL can neither store nor compare
    text holding one, which would otherwise surface as a 500."""
    for where, raw in (("path", request.path.encode("utf-8", "surrogateescape")),
                       ("query", unquote_to_bytes(request.query_string)),
                       ("json", request.get_data(cache=True))):
        if b"\x00" in raw or (where == "json" and b"\\u0000" in raw):
            raise Invalid("the request contains a NUL character", "请求中包含非法的空字符 (NUL)", field=where,
                          code="nul_character")
