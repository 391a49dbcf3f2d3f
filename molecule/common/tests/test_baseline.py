"""Time, upgrades, journald, kernel parameters and CIS controls."""

import time

from tests.helpers.hosts import systemd_exposure

testinfra_hosts = ["all"]


def test_timezone(host):
    assert host.file("/etc/localtime").linked_to.endswith("Etc/UTC")


def test_chrony_runs_and_answers(host):
    chrony = host.service("chrony")
    assert chrony.is_enabled
    assert chrony.is_running
    assert host.run("chronyc -n tracking").rc == 0
    # A container does not own its clock: chronyd must not try to set it.
    assert "-x" in host.file("/etc/default/chrony").content_string


def test_unattended_security_upgrades_are_on(host):
    dump = host.check_output("apt-config dump APT::Periodic")
    assert 'APT::Periodic::Unattended-Upgrade "1";' in dump
    assert 'APT::Periodic::Update-Package-Lists "1";' in dump
    origins = host.check_output("apt-config dump Unattended-Upgrade::Origins-Pattern")
    assert "label=Debian-Security" in origins
    for timer in ("apt-daily.timer", "apt-daily-upgrade.timer"):
        assert host.service(timer).is_enabled


def test_the_first_converge_applied_the_pending_security_updates(host):
    # The test-host image is Debian 12 as debootstrap makes it, without the security
    # suite's updates: a fresh host with some pending, as a new VM has.
    pending = [line for line in host.check_output("apt-get -s dist-upgrade").splitlines()
               if line.startswith("Inst ") and "Debian-Security" in line]
    assert pending == [], pending
    stamp = host.file("/var/lib/apt/periodic/unattended-upgrades-stamp")
    assert stamp.exists, "the converge's run was not recorded for the daily timer"
    log = host.file("/var/log/unattended-upgrades/unattended-upgrades.log")
    assert log.exists, "unattended-upgrade did not run in the converge"
    applied = [line.split(": ", 1)[1] for line in log.content_string.splitlines()
               if "Packages that will be upgraded: " in line]
    print(f"{host.backend.get_hostname()}: the first converge applied {len(' '.join(applied).split())} "
          f"security updates: {' '.join(applied) or 'none were pending'}")


def test_journal_is_persistent_and_capped(host):
    conf = host.check_output("systemd-analyze cat-config systemd/journald.conf")
    assert "Storage=persistent" in conf
    assert "SystemMaxUse=1G" in conf
    machine_id = host.file("/etc/machine-id").content_string.strip()
    assert host.file(f"/var/log/journal/{machine_id}/system.journal").exists


def test_kernel_parameters_are_written(host):
    conf = host.file("/etc/sysctl.d/60-editaliza.conf").content_string
    assert "net.ipv4.tcp_syncookies = 1" in conf
    assert "kernel.randomize_va_space = 2" in conf
    assert "net.ipv4.conf.all.accept_redirects = 0" in conf


def test_cis_exception_is_honoured_and_recorded(host):
    conf = host.file("/etc/sysctl.d/60-editaliza.conf").content_string
    exceptions = host.file("/etc/editaliza/cis-exceptions").content_string
    if host.backend.get_hostname() == "common-app":
        assert "net.ipv4.ip_forward" not in conf
        assert "ip_forwarding: Docker hosts route traffic to their containers" in exceptions
    else:
        assert "net.ipv4.ip_forward = 0" in conf
        assert "# none" in exceptions


def test_cis_controls(host):
    modprobe = host.file("/etc/modprobe.d/editaliza-cis.conf").content_string
    assert "install cramfs /bin/false" in modprobe
    for protocol in ("dccp", "sctp", "rds", "tipc"):
        assert f"install {protocol} /bin/false" in modprobe
        assert f"blacklist {protocol}" in modprobe
    # Not shown here: a load refused by modprobe. The test hosts share the Docker host's
    # kernel, have no kmod and no /lib/modules; the file is what a VM's modprobe reads.
    print(f"{host.backend.get_hostname()}: modprobe's refusal of dccp, sctp, rds, tipc not tried "
          "(no kmod in a test container); /etc/modprobe.d/editaliza-cis.conf checked instead")
    assert host.file("/etc/issue.net").content_string.startswith("Authorised access only")
    shadow = host.file("/etc/shadow")
    assert (shadow.user, shadow.group, shadow.mode) == ("root", "shadow", 0o640)
    assert host.check_output("passwd -S root").split()[1] == "L"
    assert "TMOUT=900" in host.file("/etc/profile.d/60-editaliza-timeout.sh").content_string
    assert "Defaults use_pty" in host.file("/etc/sudoers.d/00-editaliza-defaults").content_string
    assert host.check_output("grep -E '^PASS_MAX_DAYS' /etc/login.defs").split()[1] == "365"
    assert host.check_output("systemctl is-enabled ctrl-alt-del.target || true") == "masked"
    assert host.file("/etc/at.allow").content_string == "root\n"
    assert not host.package("telnet").is_installed


def test_home_directories_are_closed_to_others_and_new_ones_will_be(host):
    assert host.check_output("grep -E '^HOME_MODE' /etc/login.defs").split()[1] == "0750"
    homes = host.check_output("find /home -mindepth 1 -maxdepth 1 -type d -printf '%m %p\\n'").splitlines()
    assert homes, "no home directory under /home: the administrators' accounts have one"
    assert all(line.split()[0].endswith("0") for line in homes), homes


def test_sshd_leaves_keepalives_to_its_encrypted_channel_and_does_not_compress(host):
    effective = host.check_output("sshd -T")
    assert "tcpkeepalive no" in effective
    assert "compression no" in effective
    assert "clientaliveinterval 300" in effective


def test_a_pending_reboot_is_a_metric(host):
    unit = "editaliza-reboot-required.service"
    metric = "/var/lib/prometheus/node-exporter/reboot_required.prom"
    assert "node_reboot_required 0" in host.file(metric).content_string
    # apt runs the writer after every dpkg run (unattended-upgrades included).
    assert "/usr/local/sbin/editaliza-reboot-required" in host.check_output("apt-config dump DPkg::Post-Invoke")
    assert host.service(unit).is_enabled
    assert systemd_exposure(host, unit) <= 3.0
    host.check_output("echo libc6 > /run/reboot-required.pkgs && touch /run/reboot-required")
    try:
        # The unit, as at boot, under its sandbox.
        host.check_output(f"systemctl start {unit}")
        text = host.file(metric).content_string
        assert "node_reboot_required 1" in text
        assert "node_reboot_required_packages 1" in text
    finally:
        host.check_output("rm -f /run/reboot-required /run/reboot-required.pkgs")
        host.check_output(f"systemctl start {unit}")
    assert "node_reboot_required 0" in host.file(metric).content_string


def in_container(host):
    return host.run("systemd-detect-virt --container").rc == 0


def test_pam_refuses_weak_passwords_and_login_defs_sets_the_hashing_cost(host):
    assert "pam_pwquality.so" in host.file("/etc/pam.d/common-password").content_string
    host.check_output("useradd --no-create-home --shell /usr/sbin/nologin edz-pwprobe")
    try:
        # chpasswd as root goes through PAM (enforce_for_root: root is refused too).
        for weak, why in (("Sh0rt!pw", "shorter than 14 characters"),
                          ("alllowercaseletters", "less than 4 character classes"),
                          ("Aaaaa1!aaaaaaaaa", "more than 3 same characters")):
            out = host.run(f"echo 'edz-pwprobe:{weak}' | chpasswd")
            assert out.rc != 0, weak
            assert why in out.stdout + out.stderr, (weak, out.stdout, out.stderr)
        assert host.run("echo 'edz-pwprobe:Tr0ub4dor&3-horse-Staple' | chpasswd").rc == 0
        # A hash login.defs decides (chpasswd -c, newusers): yescrypt at the set cost, which
        # yescrypt writes as the fifth character ("$y$j9T$" at Debian's 5, "$y$jCT$" at 8).
        host.check_output("echo 'edz-pwprobe:Tr0ub4dor&3-horse-Staple' | chpasswd -c YESCRYPT")
        cost = int(host.check_output("grep -E '^YESCRYPT_COST_FACTOR' /etc/login.defs").split()[1])
        hashed = host.check_output("getent shadow edz-pwprobe").split(":")[1]
        itoa64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        assert cost == 8
        assert hashed.startswith("$y$j" + itoa64[cost + 6] + "T$"), hashed[:8]
    finally:
        host.run("userdel edz-pwprobe")


def test_process_accounting_is_on_where_the_host_owns_its_kernel(host):
    assert host.package("acct").is_installed
    assert host.service("acct").is_enabled
    if in_container(host):
        # accton needs CAP_SYS_PACCT of the kernel's own namespace: a container cannot
        # have it, and the drop-in's ConditionVirtualization skips the unit there.
        assert host.check_output("systemctl show acct -p ConditionResult") == "ConditionResult=no"
        assert host.check_output("systemctl is-failed acct || true") != "failed"
        print(f"{host.backend.get_hostname()}: process accounting not started (a container has no "
              "CAP_SYS_PACCT); acct is installed, enabled and starts on a VM")
    else:
        assert host.service("acct").is_running
        assert host.file("/var/log/account/pacct").exists


def test_file_integrity_database_is_built_and_a_new_file_is_reported(host):
    assert host.service("dailyaidecheck.timer").is_enabled
    db = host.file("/var/lib/aide/aide.db")
    deadline = time.monotonic() + 240
    while not db.exists and time.monotonic() < deadline:
        time.sleep(5)
    assert db.exists, host.run("systemctl status editaliza-aide-init --no-pager").stdout
    assert (db.user, db.mode) == ("_aide", 0o600)
    print(f"{host.backend.get_hostname()}: AIDE's first database built by editaliza-aide-init")
    assert systemd_exposure(host, "editaliza-aide-init.service") <= 3.0
    if host.backend.get_hostname() != "common-db":
        return  # a check reads every file (about 25 s): one host shows it
    probe = "/etc/editaliza/aide-probe"
    host.check_output(f"echo probe > {probe}")
    try:
        out = host.run("aide --check --config /etc/aide/aide.conf --limit '^/etc/editaliza/'")
        # Exit code bit 1: entries added.
        assert out.rc & 1, out.stdout[-2000:] + out.stderr
        assert f": {probe}" in out.stdout, out.stdout[-2000:]
    finally:
        host.run(f"rm -f {probe}")
    if in_container(host):
        print(f"{host.backend.get_hostname()}: Debian's daily check runs as _aide with an ambient "
              "CAP_DAC_READ_SEARCH a container cannot grant: here it cannot read root-only files")
