"""Satisfaction-survey events, owned by the feedback service (topic ``lsq.survey``, key = survey)."""
from marshmallow import fields

from shared.events import fields as f
from shared.events.registry import EventData, define


class SurveyResponseSubmitted(EventData):
    survey_id = f.ref("the survey campaign")
    response_id = f.ref("the response")
    branch_id = f.ref("branch the answer is about")
    instrument_id = f.ref("questionnaire")
    instrument_version = f.integer("questionnaire version")
    user_group = f.text("respondent's user group, if asked", required=False, allow_none=True, max_length=50)
    submitted_at = f.time("when it was submitted")


class SurveyClosed(EventData):
    survey_id = f.ref("the survey campaign")
    closed_at = f.time("when it closed")
    responses = f.integer("number of responses")
    summary = fields.Dict(required=True, metadata={
        "description": "per-dimension means and gaps, NPS, per branch (groups under 5 suppressed)"})


define("lsq.survey.response_submitted.v1", SurveyResponseSubmitted, service="feedback",
       subject="response_id", key="survey_id",
       description="A reader answered a satisfaction survey (no personal data).")
define("lsq.survey.closed.v1", SurveyClosed, service="feedback", subject="survey_id", key=None,
       description="A survey campaign closed; carries its summary.")
