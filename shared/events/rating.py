"""Point-of-service rating events, owned by the feedback service (topic ``lsq.rating``)."""
from shared.events import fields as f
from shared.events.registry import EventData, define


class RatingSubmitted(EventData):
    rating_id = f.ref("the rating")
    branch_id = f.ref("branch")
    service_point_id = f.ref("service point (desk) rated")
    staff_id = f.ref("staff member who served, if given", required=False, allow_none=True)
    stars = f.integer("1-5 stars")
    wait_minutes = f.integer("minutes the reader waited, if given", required=False, allow_none=True)
    submitted_at = f.time("when it was submitted")


define("lsq.rating.submitted.v1", RatingSubmitted, service="feedback", subject="rating_id",
       description="A reader rated a service point (QR code at the desk).")
