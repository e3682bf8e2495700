"""Branch events, owned by the directory service (topic ``lsq.branch``, key = branch id)."""
from shared.events import fields as f
from shared.events.registry import EventData, define


class BranchOpened(EventData):
    branch_id = f.ref("the branch")
    code = f.text("short code, e.g. CENTRAL", max_length=32)
    name_zh = f.text("name in Chinese", max_length=200)
    name_en = f.text("name in English", max_length=200)
    opened_on = f.day("first day of service", required=False, allow_none=True)


class ServicePointOpened(EventData):
    branch_id = f.ref("the branch it belongs to")
    service_point_id = f.ref("the service point (desk)")
    name_zh = f.text("name in Chinese", max_length=200)
    name_en = f.text("name in English", max_length=200)
    kind = f.enum(("circulation", "reference", "children", "digital", "information", "other"),
                  "what the desk does")


define("lsq.branch.opened.v1", BranchOpened, service="directory", subject="branch_id", key=None,
       description="A branch joined the network.")
define("lsq.branch.service_point_opened.v1", ServicePointOpened, service="directory",
       subject="service_point_id", key="branch_id",
       description="A service point (desk) opened in a branch.")
