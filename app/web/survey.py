"""The customer's satisfaction survey: a page reached from the e-mailed link, no sign-in.

The token in the link is the only credential; the answer is delivered to the return's process
as the message ``survey_answered`` (once per survey: its message id), which records it.
"""
from flask import render_template, request

from app.api.services import runtime
from app.domain import surveys
from app.domain.errors import Invalid, NotFound
from app.engine.errors import InvalidState
from app.engine.errors import NotFound as NothingWaits
from app.extensions import db
from app.models.returns import ReturnRequest
from app.web.blueprint import bp

MESSAGE = "survey_answered"


def _page(survey, *, status=200, errors=None, values=None, closed=None, thanks=False):
    ret = db.session.get(ReturnRequest, survey.return_id) if survey else None
    return render_template("survey.html", survey=survey, ret=ret, errors=errors or {},
                           values=values or {}, closed=closed, thanks=thanks,
                           scores=list(surveys.SCORES)), status


def _survey(token):
    try:
        return surveys.survey_for_token(db.session, token)
    except NotFound:
        return None


@bp.route("/survey/<token>")
def survey(token):
    found = _survey(token)
    if found is None:
        return _page(None, status=404, closed="This survey link is not valid.")
    try:
        surveys.check_open(found)
    except surveys.SurveyClosed as err:
        return _page(found, status=410, closed=err.message)
    return _page(found)


@bp.route("/survey/<token>", methods=["POST"])
def answer(token):
    found = _survey(token)
    if found is None:
        return _page(None, status=404, closed="This survey link is not valid.")
    values = {"score": request.form.get("score", ""), "comment": request.form.get("comment", "")}
    try:
        surveys.check_open(found)
        score, comment = surveys.checked_answer(values["score"], values["comment"])
    except surveys.SurveyClosed as err:
        return _page(found, status=410, closed=err.message)
    except Invalid as err:
        return _page(found, status=422, values=values,
                     errors={p["field"]: p["message"] for p in err.details})
    ret = db.session.get(ReturnRequest, found.return_id)
    try:
        runtime().deliver_message(MESSAGE, business_key=ret.number,
                                  payload={"score": score, "comment": comment},
                                  message_id=f"{MESSAGE}:{found.id}")
    except (NothingWaits, InvalidState):
        db.session.rollback()
        return _page(found, status=410, closed="This survey is closed.")
    db.session.expire_all()
    found = db.session.get(type(found), found.id)
    if found.status != "answered":
        return _page(found, status=410, closed="This survey is closed.")
    return _page(found, thanks=True)
