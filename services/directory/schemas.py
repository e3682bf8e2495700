"""Request and response schemas of the directory API."""
from marshmallow import Schema, fields, validate

from services.directory.model import LEAVE_REASONS, SERVICE_POINT_KINDS, STAFF_ROLES, STAFF_STATUSES
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


class StaffPatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    email = fields.Email(allow_none=True, validate=validate.Length(max=200))
    role = fields.String(validate=validate.OneOf(STAFF_ROLES))
    status = fields.String(validate=validate.OneOf(STAFF_STATUSES))
    branch_id = fields.String(metadata={"description": "not changeable here: use transfer"})


class Staff(StaffIn):
    id = fields.String()
    status = fields.String()
    left_on = fields.Date(allow_none=True)
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


BranchPage = page_schema(Branch, "BranchPage")
ServicePointPage = page_schema(ServicePoint, "ServicePointPage")
StaffPage = page_schema(Staff, "StaffPage")
