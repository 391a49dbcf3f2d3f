"""sshd: the effective configuration, and what a client can and cannot do."""

import subprocess

from tests.helpers.ansible_run import ROOT, tool

testinfra_hosts = ["all"]
KEY = ROOT / ".lab/ssh/id_ed25519"
# ssh-audit's built-in policy for a hardened Debian 12 server (algorithms and their
# order, host key types and sizes, DH moduli).
POLICY = "Hardened Debian 12 (version 3)"


def sshd_effective(host):
    settings = {}
    for line in host.check_output("sshd -T").splitlines():
        key, _, value = line.partition(" ")
        settings.setdefault(key, value)
    return settings


def test_sshd_effective_config_is_hardened(host):
    t = sshd_effective(host)
    assert t["permitrootlogin"] == "no"
    assert t["passwordauthentication"] == "no"
    assert t["kbdinteractiveauthentication"] == "no"
    assert t["permitemptypasswords"] == "no"
    assert t["x11forwarding"] == "no"
    assert t["allowtcpforwarding"] == "no"
    assert t["maxauthtries"] == "3"
    assert t["allowgroups"] == "fleet-admins"
    assert t["authenticationmethods"] == "publickey"
    weak = ("sha1", "cbc", "nistp", "md5", "group14", "ssh-rsa,", "3des")
    for option in ("kexalgorithms", "ciphers", "macs", "hostkeyalgorithms"):
        offered = t[option].split(",")
        assert not [a for a in offered if any(w in a + "," for w in weak)], (option, offered)
    assert t["kexalgorithms"].split(",")[:2] == ["sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com"]


def test_host_keys_are_strong(host):
    # prepare.yml put a 3072-bit key on common-db, as Debian's package makes: replaced.
    rsa_bits = int(host.check_output("ssh-keygen -lf /etc/ssh/ssh_host_rsa_key.pub").split()[0])
    assert rsa_bits == 4096
    assert host.file("/etc/ssh/ssh_host_ed25519_key").mode == 0o600
    offered = sshd_effective(host)["hostkey"]
    assert offered == "/etc/ssh/ssh_host_ed25519_key"  # the first HostKey: ed25519
    moduli = host.check_output("awk '$1 !~ /^#/ && $5 < 3071' /etc/ssh/moduli | wc -l")
    assert moduli == "0"


def ssh(address, *args, user="ops", key=KEY):
    cmd = [
        "ssh", "-i", str(key), "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        *args, f"{user}@{address}", "sudo -n id -u",
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)


def test_administrator_logs_in_with_key_and_gets_root(db_address):
    result = ssh(db_address)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"


def test_root_and_passwords_are_refused(db_address):
    assert "Permission denied" in ssh(db_address, user="root").stderr
    result = ssh(db_address, "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password")
    assert result.returncode != 0
    assert "Permission denied (publickey)" in result.stderr


def test_weak_algorithms_are_refused(db_address):
    kex = ssh(db_address, "-o", "KexAlgorithms=diffie-hellman-group14-sha1")
    assert "no matching key exchange method" in kex.stderr
    cipher = ssh(db_address, "-o", "Ciphers=aes128-cbc")
    assert "no matching cipher" in cipher.stderr
    mac = ssh(db_address, "-o", "MACs=hmac-sha1", "-o", "Ciphers=aes128-ctr")
    assert "no matching MAC" in mac.stderr


def test_former_administrator_is_gone(host):
    assert not host.user("former").exists
    ops = host.user("ops")
    assert "fleet-admins" in ops.groups
    assert host.check_output("passwd -S ops").split()[1] == "L"


def test_sshd_passes_ssh_audits_hardened_debian_12_policy(db_address):
    # From the Docker host, as an auditor would run it.
    result = subprocess.run([tool("ssh-audit"), "-P", POLICY, f"{db_address}:22"],
                            capture_output=True, text=True, timeout=60, check=False)
    print(result.stdout[-400:])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert "Passed" in result.stdout
