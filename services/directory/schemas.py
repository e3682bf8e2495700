"""Request and response schemas of the directory API."""
from marshmallow import Schema, fields, validate

from services.directory.model import (LEAVE_REASONS, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, SERVICE_POINT_KINDS,
                                     PROFESSIONAL_TITLE_LABELS, PROFESSIONAL_TITLES, STAFF_ROLES, STAFF_STATUSES)
from shared.web import PageArgs, page_schema

_name = dict(required=True, validate=validate.Length(min=1, max=200))


class BranchIn(Schema):
    code = fields.String(required=True, validate=[validate.Length(min=1, max=32),
                                                 validate.Regexp(r"^[A-Za-z0-9_-]+$")],
                         metadata={"description": "short code, letters, digits, - and _ (e.g. CENTRAL)"})
    name_zh = fields.String(**_name, metadata={"description": "name in Chinese, e.g. 中心馆"})
    name_en = fields.String(**_name, metadata={"description": "name in English"})
    address = fields.String(validate=validate.Length(max=300), allow_none=True)
    opened_on = fields.Date(allow_none=True)


class Branch(BranchIn):
    id = fields.String()
    created_at = fields.AwareDateTime()


class ServicePointIn(Schema):
    branch_id = fields.String(required=True)
    name_zh = fields.String(**_name)
    name_en = fields.String(**_name)
    kind = fields.String(load_default="circulation", validate=validate.OneOf(SERVICE_POINT_KINDS))


class ServicePoint(ServicePointIn):
    id = fields.String()
    created_at = fields.AwareDateTime()


class ServicePointQuery(PageArgs):
    branch_id = fields.String()


class StaffIn(Schema):
    employee_number = fields.String(required=True, validate=[validate.Length(min=1, max=32),
                                                             validate.Regexp(r"^[A-Za-z0-9_-]+$")])
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    email = fields.Email(allow_none=True, validate=validate.Length(max=200))
    role = fields.String(load_default="staff", validate=validate.OneOf(STAFF_ROLES))
    branch_id = fields.String(required=True)
    hire_date = fields.Date(required=True)
    title = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(PROFESSIONAL_TITLES),
                          metadata={"description": "professional title (职称): junior 初级, intermediate 中级, "
                                                   "associate_senior 副高级, senior 正高级; null: none recorded"})


class StaffPatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    email = fields.Email(allow_none=True, validate=validate.Length(max=200))
    role = fields.String(validate=validate.OneOf(STAFF_ROLES))
    status = fields.String(validate=validate.OneOf(STAFF_STATUSES))
    branch_id = fields.String(metadata={"description": "not changeable here: use transfer"})
    title = fields.String(allow_none=True, validate=validate.OneOf(PROFESSIONAL_TITLES),
                          metadata={"description": "professional title (职称); null: none recorded"})


class Staff(StaffIn):
    id = fields.String()
    status = fields.String()
    left_on = fields.Date(allow_none=True)
    title_zh = fields.Function(lambda s: PROFESSIONAL_TITLE_LABELS[s["title"]][1] if s.get("title") else None,
                               allow_none=True, metadata={"description": "the professional title in Chinese / 职称",
                                                          "type": "string"})
    has_account = fields.Boolean(metadata={"description": "whether the staff member has a password to sign in "
                                                          "with (in GET /staff and GET /staff/{id})"})
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class StaffQuery(PageArgs):
    branch_id = fields.String()
    role = fields.String(validate=validate.OneOf(STAFF_ROLES))
    status = fields.String(validate=validate.OneOf(STAFF_STATUSES))


class TransferIn(Schema):
    to_branch_id = fields.String(required=True)
    effective_date = fields.Date(load_default=None, allow_none=True)


class LeaveIn(Schema):
    left_on = fields.Date(load_default=None, allow_none=True)
    reason = fields.String(load_default="resigned", validate=validate.OneOf(LEAVE_REASONS))


# -- sign-in accounts ----------------------------------------------------------------------------
_PASSWORD_RULES = (f"{PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters, not only digits, "
                   "not the employee number")


class Invitation(Schema):
    staff_id = fields.String()
    token = fields.String(metadata={"description": "the one-time token: shown only in this answer"})
    expires_at = fields.AwareDateTime()
    activation_path = fields.String(metadata={"description": "the portal's page for the token: /activate/<token>"})


class ActivationIn(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200))
    password = fields.String(required=True, metadata={"description": _PASSWORD_RULES})


class Activation(Schema):
    staff_id = fields.String()
    employee_number = fields.String()
    name = fields.String()
    password_set_at = fields.AwareDateTime()


class SignInIn(Schema):
    employee_number = fields.String(required=True, validate=validate.Length(min=1, max=32))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class SessionStaff(Schema):
    staff_id = fields.String()
    employee_number = fields.String()
    name = fields.String()
    role = fields.String()
    branch_id = fields.String()
    branch_name_zh = fields.String()
    branch_name_en = fields.String()


class Session(Schema):
    token = fields.String(metadata={"description": "JWT for the Authorization header: Bearer <token>"})
    token_type = fields.String(metadata={"description": "always Bearer"})
    expires_at = fields.AwareDateTime()
    staff = fields.Nested(SessionStaff)


class Account(Schema):
    staff_id = fields.String()
    has_password = fields.Boolean()
    locked_until = fields.AwareDateTime(allow_none=True, metadata={"description": "set while locked"})
    failed_attempts = fields.Integer(metadata={"description": "consecutive failed sign-ins"})
    last_login_at = fields.AwareDateTime(allow_none=True)
    invitation_pending_until = fields.AwareDateTime(
        allow_none=True, metadata={"description": "expiry of the invitation still usable, if any"})


BranchPage = page_schema(Branch, "BranchPage")
ServicePointPage = page_schema(ServicePoint, "ServicePointPage")
StaffPage = page_schema(Staff, "StaffPage")
