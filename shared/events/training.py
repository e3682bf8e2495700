"""Training events, owned by the training service (topic ``lsq.training``, key = staff id)."""
from shared.events import fields as f
from shared.events.registry import EventData, define

SOURCES = ("course", "external")
KINDS = ("course", "seminar", "academic_forum", "conference", "networking", "teaching")
COMPETENCY_AREAS = ("information_retrieval", "reader_service", "cultural_exchange", "regulations_policy",
                    "emergency_handling", "communication_complaints", "digital_services")


class TrainingCompleted(EventData):
    completion_id = f.ref("the completion record")
    staff_id = f.ref("the staff member")
    branch_id = f.ref("their branch")
    source = f.enum(SOURCES, "a course of the network, or an approved external activity")
    kind = f.enum(KINDS, "course, or the kind of external activity")
    course_id = f.ref("the course, for source=course", required=False, allow_none=True)
    title = f.text("title", max_length=300)
    competency_area = f.enum(COMPETENCY_AREAS, "competency area", required=False, allow_none=True)
    hours = f.number("hours attended")
    credit_hours = f.number("continuing-education hours credited (after credit factors and caps)")
    completed_on = f.day("date of completion")
    certificate_code = f.text("certificate verification code, if any", required=False, allow_none=True,
                              max_length=64)


define("lsq.training.completed.v1", TrainingCompleted, service="training", subject="completion_id",
       description="A staff member completed a course or had an external activity approved.")


class EnrolmentPromoted(EventData):
    enrolment_id = f.ref("the enrolment")
    session_id = f.ref("the session")
    course_id = f.ref("the course")
    staff_id = f.ref("the staff member who now has a seat")
    branch_id = f.ref("their branch")
    title = f.text("the course title (English)", max_length=300)
    title_zh = f.text("the course title in Chinese", required=False, allow_none=True, max_length=300)
    starts_at = f.time("when the session starts")
    place = f.text("where it takes place, if on site", required=False, allow_none=True, max_length=300)
    promoted_at = f.time("when the seat was given")


class ExternalActivitySubmitted(EventData):
    activity_id = f.ref("the external activity")
    staff_id = f.ref("the staff member who submitted it")
    branch_id = f.ref("their branch (its supervisors and manager approve it)")
    kind = f.enum(KINDS[1:], "kind of external activity")
    title = f.text("title, as the staff member wrote it", max_length=300)
    activity_date = f.day("first day of the activity")
    hours = f.number("hours claimed")
    submitted_at = f.time("when it was submitted")


define("lsq.training.enrolment_promoted.v1", EnrolmentPromoted, service="training", subject="enrolment_id",
       description="A waitlisted enrolment moved into a free seat of its session.")
define("lsq.training.external_submitted.v1", ExternalActivitySubmitted, service="training", subject="activity_id",
       description="A staff member submitted an external activity; it waits for a supervisor's approval.")
