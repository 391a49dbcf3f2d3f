"""Unit tests for callback_plugins/drift_report.py's pure parts."""

from callback_plugins.drift_report import MASK, classify, mask_secrets, prometheus_textfile, render_text, task_label


def test_masks_private_keys_secret_settings_and_url_credentials():
    text = "\n".join([
        "-----BEGIN EC PRIVATE KEY-----",
        "MHcCAQEEIHA4ke3QbItIoW3s",
        "-----END EC PRIVATE KEY-----",
        "+requirepass hunter2hunter2",
        "-    password: oldpass",
        "+DATABASE_URL=postgres://app:s3cr3t@pgbouncer:6432/editaliza",
        "+listen_addresses = '*'",
    ])
    masked = mask_secrets(text)
    for secret in ("MHcCAQEEIHA4ke3QbItIoW3s", "hunter2hunter2", "oldpass", "s3cr3t"):
        assert secret not in masked
    assert "postgres://app:" + MASK + "@pgbouncer" in masked
    assert "+listen_addresses = '*'" in masked


def test_classification_by_what_changed_since_the_baseline(tmp_path):
    root = str(tmp_path)
    task = f"{root}/roles/common/tasks/configure.yml:12"
    assert classify(task, None, root) == "unclassified"
    assert classify(task, set(), root) == "corrective"
    assert classify(task, {"roles/redis/defaults/main.yml"}, root) == "corrective"
    assert classify(task, {"roles/common/templates/etc/ssh/sshd_config.j2"}, root) == "intended"
    assert classify(task, {"inventories/lab/group_vars/all/common.yml"}, root) == "intended"
    assert classify(f"{root}/playbooks/deploy.yml:3", {"playbooks/deploy.yml"}, root) == "intended"


def test_textfile_counts_by_kind_and_success():
    entry = {"changed": [{"kind": "corrective"}, {"kind": "corrective"}, {"kind": "intended"}],
             "failed": [], "unreachable": False}
    text = prometheus_textfile("sp-db1", entry, 1700000000.5)
    assert 'fleet_drift_changed_tasks{host="sp-db1",kind="corrective"} 2' in text
    assert 'fleet_drift_changed_tasks{host="sp-db1",kind="intended"} 1' in text
    assert 'fleet_drift_check_success{host="sp-db1"} 1' in text
    assert 'fleet_drift_last_check_timestamp_seconds{host="sp-db1"} 1700000000' in text
    assert 'fleet_drift_full_check{host="sp-db1"} 1' in text
    entry["unreachable"] = True
    assert 'fleet_drift_check_success{host="sp-db1"} 0' in prometheus_textfile("sp-db1", entry, 0)
    # The probe found the host's state as a full check last left it: no full check ran.
    unchanged = {"changed": [], "failed": [], "unreachable": False, "checked": "state"}
    assert 'fleet_drift_full_check{host="sp-db1"} 0' in prometheus_textfile("sp-db1", unchanged, 0)


def test_text_report_lists_hosts_tasks_and_diffs():
    report = {"generated_at": "t", "commit": "abc", "baseline": None, "hosts": {
        "sp-db1": {"changed": [{"kind": "corrective", "task": "common : Configure sshd",
                                "path": "roles/common/tasks/configure.yml:9", "diff": "-a\n+b"}],
                   "failed": [], "unreachable": False},
        "va-db1": {"changed": [], "failed": [], "unreachable": True},
    }}
    text = render_text(report)
    assert "== sp-db1: 1 change(s)" in text
    assert "  * [corrective] common : Configure sshd  (roles/common/tasks/configure.yml:9)" in text
    assert "      +b" in text
    assert "== va-db1: unreachable" in text


def test_text_report_says_which_findings_are_a_peers_drift():
    report = {"generated_at": "t", "commit": "abc", "baseline": None, "hosts": {
        "va-mon1": {"changed": [{"kind": "corrective", "task": "alertmanager : Name the peers missing",
                                 "path": "roles/alertmanager/tasks/service.yml:38", "diff": "",
                                 "detail": "does not see its peers sp-mon1", "peer": True}],
                    "failed": [], "unreachable": False}}}
    text = render_text(report)
    assert "alertmanager : Name the peers missing (a peer's drift: corrected there)" in text
    assert "      does not see its peers sp-mon1" in text


def test_task_labels_name_the_role_once():
    assert task_label("common", "common : Configure chrony") == "common : Configure chrony"
    assert task_label("common", "Configure chrony") == "common : Configure chrony"
    assert task_label(None, "Check the fleet's shape") == "Check the fleet's shape"
