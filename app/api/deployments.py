"""Deploy diagram sets (multipart upload of bpmn, dmn and form json files)."""
from flask import current_app, g, request
from flask_smorest import Blueprint
from sqlalchemy import select

from app.api.auth import require_group
from app.api.schemas import DeploymentSchema
from app.engine import deployments, specs
from app.engine.errors import InvalidInput
from app.extensions import db
from app.models.engine import Deployment

blp = Blueprint("deployments", __name__, url_prefix="/api/deployments",
                description="Versions of the process diagrams")


def _uploaded_files() -> dict[str, tuple[str, str]]:
    files = {}
    for upload in request.files.getlist("files") + [
            f for key, f in request.files.items(multi=True) if key != "files"]:
        name = (upload.filename or "").rsplit("/", 1)[-1]
        kind = specs.kind_of(name)
        if kind is None:
            raise InvalidInput(f"{name or 'a file'}: only .bpmn, .dmn and .json files",
                               details={"file": name})
        try:
            files[name] = (kind, upload.read().decode("utf-8"))
        except UnicodeDecodeError:
            raise InvalidInput(f"{name}: not UTF-8 text", details={"file": name}) from None
    if not files:
        raise InvalidInput("upload one or more files as multipart field 'files'")
    return files


@blp.route("", methods=["POST"])
@blp.response(201, DeploymentSchema)
@require_group("analyst")
def create_deployment():
    files = _uploaded_files()
    deployment, created = deployments.deploy(
        db.session, files, source="upload", actor=g.actor.username,
        forms_dir=current_app.config["FORMS_DIR"])
    db.session.commit()
    deployment.created = created
    return deployment, 201 if created else 200


@blp.route("", methods=["GET"])
@blp.response(200, DeploymentSchema(many=True))
def list_deployments():
    return db.session.scalars(select(Deployment).order_by(Deployment.version.desc()).limit(100))
