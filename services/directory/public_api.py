"""The directory's public look-ups: anonymous, read-only, for pages readers open without an account.

``GET /public/service-points/{id}``: what a desk's page (the QR code at a service point) needs to
show: the desk's and its branch's names and the names of the branch's active staff, so that a
reader can praise or rate someone by name. Nothing else about staff (no e-mail, no employee
number, no dates) leaves through here.
"""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from services.directory import service, store
from shared.auth import access
from shared.errors import not_found
from shared.ratelimit import rate_limited
from shared.web import db

blp = Blueprint("directory_public", __name__, url_prefix="/public",
                description="Public, anonymous look-ups for reader pages (no personal data beyond staff names)")

#: Requests a minute per client. Reader pages are served by the portal: it should pass its users'
#: addresses on in X-Forwarded-For (counted in LSQ_PROXY_HOPS), or all its users share this allowance.
PUBLIC_LIMIT = 120
#: Staff are read in pages of this size (the list endpoint's largest page).
_PAGE = 500


class PublicBranch(Schema):
    id = fields.String()
    code = fields.String()
    name_zh = fields.String()
    name_en = fields.String()


class PublicStaff(Schema):
    staff_id = fields.String()
    name = fields.String()
    role = fields.String()


class PublicServicePoint(Schema):
    id = fields.String(metadata={"description": "the service point's id"})
    name_zh = fields.String()
    name_en = fields.String()
    kind = fields.String()
    branch = fields.Nested(PublicBranch)
    staff = fields.List(fields.Nested(PublicStaff),
                        metadata={"description": "active staff of the desk's branch, sorted by name"})


@blp.get("/service-points/<point_id>")
@access(anonymous=True)
@rate_limited(PUBLIC_LIMIT)
@blp.response(200, PublicServicePoint)
@blp.alt_response(404, description="no service point has this id (code service_point_not_found)")
def public_service_point(point_id):
    """A desk, its branch and the branch's active staff, by name (no account needed) / 服务点公开信息"""
    with db().read() as conn:
        point = store.get_service_point(conn, point_id)
        branch = store.get_branch(conn, point["branch_id"]) if point is not None else None
    if point is None or branch is None:
        raise not_found("service point", "服务点", point_id)
    return {"id": point["id"], "name_zh": point["name_zh"], "name_en": point["name_en"], "kind": point["kind"],
            "branch": {"id": branch["id"], "code": branch["code"], "name_zh": branch["name_zh"],
                       "name_en": branch["name_en"]},
            "staff": _active_staff(branch["id"])}


def _active_staff(branch_id: str) -> list[dict]:
    """``{staff_id, name, role}`` of the branch's active staff, by name (then id, for equal names)."""
    people, page = [], 1
    while True:
        items, total = service.list_staff(db(), {"branch_id": branch_id, "status": "active"}, page, _PAGE)
        people += [{"staff_id": p["id"], "name": p["name"], "role": p["role"]} for p in items]
        if not items or len(people) >= total:
            break
        page += 1
    return sorted(people, key=lambda p: (p["name"], p["staff_id"]))
