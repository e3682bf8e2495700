"""Training service: courses, sessions, external activities, continuing-education hours,
mandatory and remedial training (port 8103)."""
from urllib.parse import unquote_to_bytes

from flask import request

from shared.errors import Invalid
from shared.web import create_service_app


def create_app(config: dict | None = None):
    """The training web app (``gunicorn "services.training:create_app()"``)."""
    from services.training.api import blp
    app = create_service_app(
        "training", title="LSQ Training / 培训与继续教育", config=config, blueprints=[blp],
        description="Courses, sessions with waiting lists, attendance and certificates, external "
                    "seminars and forums, continuing-education requirements, transcripts and compliance. "
                    "Publishes lsq.training.* and lsq.requirement.* events.")
    app.before_request(refuse_nul_characters)
    return app


def refuse_nul_characters() -> None:
    """422 for a NUL character anywhere in the request: PostgreSQL cannot store or even compare
    text holding one, which would otherwise surface as a 500."""
    for where, raw in (("path", request.path.encode("utf-8", "surrogateescape")),
                       ("query", unquote_to_bytes(request.query_string)),
                       ("json", request.get_data(cache=True))):
        if b"\x00" in raw or (where == "json" and b"\\u0000" in raw):
            raise Invalid("the request contains a NUL character", "请求中包含非法的空字符 (NUL)", field=where,
                          code="nul_character")
