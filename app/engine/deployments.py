"""Creating deployment versions and finding the spec an instance runs on."""
import json
from pathlib import Path

from sqlalchemy import bindparam, func, select

from app.engine import specs
from app.engine.errors import NotFound
from app.models.engine import Deployment, DeploymentFile, ProcessDefinition


def forms_lookup(forms_dir: str | Path | None):
    def lookup(name: str):
        if not forms_dir or "/" in name or "\\" in name:
            return None
        path = Path(forms_dir) / name
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            return None
    return lookup


def deploy(session, files: dict[str, tuple[str, str]], *, source: str, actor: str | None,
           forms_dir=None) -> tuple[Deployment, bool]:
    """Check and store a file set as a new version; the same content again returns the old one."""
    parsed = specs.build(dict(files), form_lookup=forms_lookup(forms_dir))
    existing = session.scalar(select(Deployment).where(
        Deployment.content_hash == parsed.content_hash))
    if existing is not None:
        return existing, False
    version = (session.scalar(select(func.max(Deployment.version))) or 0) + 1
    deployment = Deployment(version=version, content_hash=parsed.content_hash, source=source,
                            created_by=actor)
    deployment.files = [DeploymentFile(name=name, kind=kind, content=text)
                        for name, (kind, text) in sorted(parsed.files.items())]
    deployment.processes = [
        ProcessDefinition(process_id=pid, name=parsed.process_names.get(pid),
                          file_name=parsed.process_files[pid]) for pid in sorted(parsed.specs)]
    session.add(deployment)
    session.flush()
    specs.remember(parsed)
    return deployment, True


# deployment id -> (content hash, version); deployments are immutable, so this never goes stale.
_info_by_id: dict[int, tuple[str, int]] = {}

_info = select(Deployment.content_hash, Deployment.version).where(
    Deployment.id == bindparam("deployment_id"))


def newest_with_process(process_id):
    """A select of the id of the newest deployment that has the process (the runtime inserts a
    started instance from it, so the choice and the insert are one statement)."""
    return (select(ProcessDefinition.deployment_id)
            .join(Deployment, Deployment.id == ProcessDefinition.deployment_id)
            .where(ProcessDefinition.process_id == process_id)
            .order_by(Deployment.version.desc()).limit(1))


def latest_deployment_id(session, process_id: str) -> int:
    deployment_id = session.scalar(newest_with_process(process_id))
    if deployment_id is None:
        raise NotFound(f"no deployed process with id {process_id!r}")
    return deployment_id


def _info_of(session, deployment_id: int) -> tuple[str, int]:
    info = _info_by_id.get(deployment_id)
    if info is None:
        found = session.connection().execute(_info, {"deployment_id": deployment_id}).first()
        if found is None:
            raise NotFound(f"deployment {deployment_id} not found")
        info = _info_by_id[deployment_id] = (found.content_hash, found.version)
    return info


def version_of(session, deployment_id: int) -> int:
    return _info_of(session, deployment_id)[1]


def parsed_for(session, deployment_id: int) -> specs.ParsedDeployment:
    digest = _info_of(session, deployment_id)[0]

    def load_files():
        rows = session.scalars(select(DeploymentFile).where(
            DeploymentFile.deployment_id == deployment_id))
        return {row.name: (row.kind, row.content) for row in rows}

    return specs.cached(digest, load_files)


def forget_ids() -> None:
    """Tests reuse ids after emptying tables; production never needs this."""
    _info_by_id.clear()
