"""Deploy checks: refusals name the file and element; versions are content-addressed."""
from pathlib import Path

import pytest
from sqlalchemy import select

from app.engine import deployments, specs
from app.engine.errors import DeploymentRejected
from app.engine.runtime import Actor
from app.models.engine import HumanTask, ProcessInstance

HERE = Path(__file__).parent.parent
BROKEN = HERE / "processes" / "broken"


def deploy(session, app, files):
    return deployments.deploy(session, files, source="test", actor="ada",
                              forms_dir=app.config["FORMS_DIR"])


def broken(name):
    return {name: ("bpmn", (BROKEN / name).read_text())}


@pytest.mark.parametrize("file, element, words", [
    ("forbidden_script.bpmn", "forbidden_task", "import is not allowed"),
    ("unknown_operator.bpmn", "unknown_call", "nope.does_not_exist"),
    ("missing_form.bpmn", "missing_form_task", "does_not_exist.schema.json"),
])
def test_refused_with_file_and_element_named(session, app, file, element, words):
    with pytest.raises(DeploymentRejected) as caught:
        deploy(session, app, broken(file))
    [problem] = caught.value.details
    assert problem["file"] == file
    assert problem["element"].startswith(element)
    assert words in problem["message"]


def test_dunder_access_and_malformed_xml_are_refused(session, app):
    text = (BROKEN / "forbidden_script.bpmn").read_text().replace(
        "import os\nx = os.getcwd()", "x = ().__class__.__base__")
    with pytest.raises(DeploymentRejected) as caught:
        deploy(session, app, {"dunder.bpmn": ("bpmn", text)})
    assert "__class__" in caught.value.details[0]["message"]
    with pytest.raises(DeploymentRejected) as caught:
        deploy(session, app, {"bad.bpmn": ("bpmn", "<bpmn:definitions")})
    assert caught.value.details[0]["file"] == "bad.bpmn"


def test_xsd_violation_is_refused(session, app):
    text = (HERE / "processes" / "message_wait.bpmn").read_text().replace(
        "<bpmn:process ", "<bpmn:process bogus=\"1\" ")
    with pytest.raises(DeploymentRejected) as caught:
        deploy(session, app, {"message_wait.bpmn": ("bpmn", text)})
    assert caught.value.details[0]["file"] == "message_wait.bpmn"
    assert "bogus" in caught.value.details[0]["message"]


def test_same_content_is_the_same_version_and_forms_come_along(session, app, deployed):
    again, created = deploy(session, app, specs.read_dir(HERE / "processes"))
    assert not created and again.version == deployed.version
    names = {f.name for f in deployed.files}
    assert {"approve.schema.json", "approve.uischema.json", "review.schema.json"} <= names


def test_running_instances_keep_their_version(session, app, deployed, runtime):
    old, _ = runtime.start("basic_flow", business_key="V-1", data={"items": [5000]})
    files = specs.read_dir(HERE / "processes")
    kind, text = files["basic_flow.bpmn"]
    # the analyst lowers the approval threshold in a new version
    files["basic_flow.bpmn"] = (kind, text.replace("total &gt;= 1000", "total &gt;= 10"))
    assert files["basic_flow.bpmn"][1] != text
    v2, created = deploy(session, app, files)
    session.commit()
    assert created and v2.version == deployed.version + 1

    new, _ = runtime.start("basic_flow", business_key="V-2", data={"items": [50]})
    assert new.deployment_id == v2.id and new.status == "waiting"  # 50 >= 10 now needs approval
    assert session.get(ProcessInstance, old.id).deployment_id == deployed.id
    task = session.scalar(select(HumanTask).where(HumanTask.instance_id == old.id))
    done = runtime.complete_task(task.id, {"approved": True}, Actor("sam", frozenset({"approvers"})))
    assert done.status == "completed"
