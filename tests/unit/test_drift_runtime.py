"""The run-time drift checks' comparison logic (library/edz_*.py): what counts as a finding,
what does not, and how each is shown."""

from __future__ import annotations

import pytest

from tests.helpers.scripts import load_script

accounts = load_script("library/edz_accounts.py")
nft = load_script("library/edz_nft_live.py")
sysctl = load_script("library/edz_sysctl_live.py")
listeners = load_script("library/edz_listeners.py")
redis = load_script("library/edz_redis_live.py")

ANY_V4 = ".".join("0" * 4)  # the wildcard address, as /proc/net decodes it
SHELLS = accounts.login_shells("# /etc/shells\n/bin/sh\n/bin/bash\n/usr/bin/bash\n/usr/sbin/nologin\n")


# --- accounts ---------------------------------------------------------------------------
def test_login_shells_leave_out_the_ones_refusing_a_login():
    assert {"/bin/sh", "/bin/bash", "/usr/bin/bash"} == SHELLS


def test_undeclared_accounts_are_those_that_can_log_in():
    passwd = [
        ("root", 0, "/bin/bash"),
        ("daemon", 1, "/usr/sbin/nologin"),
        ("sync", 4, "/bin/sync"),                # no login shell, system UID
        ("postgres", 106, "/bin/bash"),          # declared (common_login_accounts)
        ("ops", 1000, "/bin/bash"),              # declared administrator
        ("mallory", 1001, "/bin/bash"),          # an intruder
        ("backdoor", 998, "/bin/sh"),            # system UID, but a login shell
        ("builder", 1002, "/usr/sbin/nologin"),  # UID >= 1000, password usable
        ("locked", 1003, "/usr/sbin/nologin"),   # disabled already (nologin + locked)
        ("nobody", 65534, "/usr/sbin/nologin"),
    ]
    got = accounts.undeclared_accounts(passwd, SHELLS, {"locked", "daemon"}, {"root", "postgres", "ops"}, 1000)
    assert got == ["backdoor", "builder", "mallory"]


def test_a_disabled_account_is_no_longer_a_finding():
    # What a converge leaves: nologin, password locked.
    disabled = [("mallory", 1001, "/usr/sbin/nologin")]
    assert accounts.undeclared_accounts(disabled, SHELLS, {"mallory"}, set(), 1000) == []


def test_only_sudoers_files_sudo_reads_count():
    names = ["README", "editaliza", "00-editaliza-defaults", "mallory", "old.bak", "draft~", "90-cloud"]
    managed = ["editaliza", "00-editaliza-defaults"]
    assert accounts.unmanaged_sudoers(names, managed) == ["90-cloud", "README", "mallory"]
    assert not accounts.sudo_reads("README.md")


def test_a_sudoers_file_of_comments_grants_nothing():
    assert not accounts.grants("#\n# As of Debian version 1.7.2p1-1, the default /etc/sudoers file ...\n\n")
    assert accounts.grants("#includedir /etc/sudoers.extra\n")
    assert accounts.grants("# note\nmallory ALL=(ALL) NOPASSWD: ALL\n")


def test_privileged_group_members_not_declared():
    members = {"sudo": ["mallory"], "fleet-admins": ["ops", "eve"], "wheel": []}
    allowed = {"sudo": [], "fleet-admins": ["ops"], "wheel": []}
    assert accounts.extra_members(members, allowed) == {"fleet-admins": ["eve"], "sudo": ["mallory"]}


def test_account_findings_are_rendered_with_what_the_sudoers_file_granted():
    text = accounts.render(["mallory"], [("mallory", "mallory ALL=(ALL) NOPASSWD: ALL\n")], {"sudo": ["mallory"]})
    assert "login account not declared in the inventory: mallory" in text
    assert "sudoers file the repository does not write: mallory" in text
    assert "    mallory ALL=(ALL) NOPASSWD: ALL" in text
    assert "member of privileged group sudo not declared: mallory" in text
    assert accounts.render([], [], {}) == ""


# --- nftables ---------------------------------------------------------------------------
LOADED = """table inet editaliza {
\tset ssh_v4 {
\t\ttype ipv4_addr
\t\tflags interval
\t\telements = { 10.213.1.1, 10.213.2.1,
\t\t\t     203.0.113.7 }
\t}
}
"""
WANTED = """table inet editaliza {
\tset ssh_v4 {
\t\ttype ipv4_addr
\t\tflags interval
\t\telements = { 10.213.1.1, 10.213.2.1 }
\t}
}
"""


def test_an_element_added_at_run_time_shows_in_the_diff():
    diff = nft.table_diff(LOADED, WANTED, "inet editaliza")
    assert "203.0.113.7" in diff
    assert diff.startswith("--- inet editaliza (loaded)")


def test_the_same_table_gives_no_diff_whatever_the_blank_lines():
    assert nft.table_diff(WANTED + "\n\n", "\n" + WANTED.replace("}\n", "}  \n"), "inet editaliza") == ""


def test_a_table_missing_from_the_kernel_is_a_diff():
    assert "+table inet editaliza {" in nft.table_diff("", WANTED, "inet editaliza")


# --- kernel parameters ------------------------------------------------------------------
def test_sysctl_files_parse_and_compare_as_the_kernel_prints():
    wanted = sysctl.parse("# comment\nnet.ipv4.ip_forward = 0\n; x\nnet/core/somaxconn=1024\n"
                          "-net.ipv4.tcp_rmem = 4096 87380 6291456\nbroken line\n")
    assert wanted == {"net.ipv4.ip_forward": "0", "net.core.somaxconn": "1024",
                      "net.ipv4.tcp_rmem": "4096 87380 6291456"}
    live = {"net.ipv4.ip_forward": "1", "net.core.somaxconn": "1024", "net.ipv4.tcp_rmem": "4096\t87380\t6291456"}
    assert sysctl.differences(wanted, live) == {"net.ipv4.ip_forward": ("1", "0")}
    assert sysctl.differences({"kernel.nope": "1"}, {"kernel.nope": None}) == {"kernel.nope": (None, "1")}


# --- listeners --------------------------------------------------------------------------
PROC_TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0
   1: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1002 1 0
   2: 0C01D50A:115C 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1003 1 0
   3: 0C01D50A:0016 0101D50A:C350 01 00000000:00000000 00:00000000 00000000     0        0 1004 1 0
"""
PROC_TCP6 = """  sl  local_address                         remote_address                        st
   0: 00000000000000000000000000000000:238C 00000000000000000000000000000000:0000 0A 0 0 0 0 0 0 2001 1
   1: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 0 0 0 0 0 0 2002 1
"""
PROC_UDP = """  sl  local_address rem_address   st
   0: 0100007F:0143 00000000:0000 07 0 0 0 0 0 0 3001 1
   1: 00000000:2396 00000000:0000 07 0 0 0 0 0 0 3002 1
   2: 0C01D50A:9C40 0101D50A:007B 01 0 0 0 0 0 0 3003 1
"""


def test_proc_net_tables_decode_to_listening_sockets():
    tcp = listeners.parse_proc_net(PROC_TCP, "tcp")
    assert [(s["address"], s["port"], s["inode"]) for s in tcp] == [
        (ANY_V4, 22, 1001), ("127.0.0.1", 3306, 1002), ("10.213.1.12", 4444, 1003)]
    tcp6 = listeners.parse_proc_net(PROC_TCP6, "tcp")
    assert [(s["address"], s["port"]) for s in tcp6] == [("::", 9100), ("::1", 8080)]
    udp = listeners.parse_proc_net(PROC_UDP, "udp")
    assert [(s["address"], s["port"]) for s in udp] == [("127.0.0.1", 323), (ANY_V4, 9110)]


def test_undeclared_listeners_leave_out_loopback_and_declared_ports():
    sockets = (listeners.parse_proc_net(PROC_TCP, "tcp") + listeners.parse_proc_net(PROC_TCP6, "tcp")
               + listeners.parse_proc_net(PROC_UDP, "udp"))
    found = listeners.undeclared(sockets, listeners.port_set(["22", "9100", "8080-8099"]), listeners.port_set([]))
    got = [(s["proto"], s["address"], s["port"]) for s in found]
    assert got == [("tcp", "10.213.1.12", 4444), ("udp", ANY_V4, 9110)]
    assert listeners.describe(found[0], "nc (pid 7)") == "tcp 10.213.1.12:4444 nc (pid 7)"
    assert listeners.port_set(["9121-9122", 5432]) == {9121, 9122, 5432}


def test_ipv4_mapped_loopback_is_loopback():
    assert not listeners.reachable("::ffff:127.0.0.1")
    assert listeners.reachable("::")


# --- Redis ------------------------------------------------------------------------------
REDIS_CONF = """# managed
include /etc/redis/instances/cache.secrets.conf
bind 10.213.1.12 127.0.0.1
port 0
tls-port 6380
tls-protocols "TLSv1.2 TLSv1.3"
unixsocket /run/redis-cache/redis.sock
maxmemory 256mb
maxmemory-policy allkeys-lru
save ""
appendonly no
"""


def test_redis_file_settings_leave_out_what_cannot_change_at_run_time():
    wanted = redis.parse_config(REDIS_CONF)
    assert "include" not in wanted
    assert "unixsocket" not in wanted
    assert wanted["tls-protocols"] == "TLSv1.2 TLSv1.3"
    assert wanted["save"] == ""
    assert redis.parse_config("save 3600 1\nsave 300 100\n")["save"] == "3600 1 300 100"


def test_redis_config_set_at_run_time_is_a_difference():
    wanted = redis.parse_config(REDIS_CONF)
    live = {"bind": "10.213.1.12 127.0.0.1", "port": "0", "tls-port": "6380", "tls-protocols": "TLSv1.2 TLSv1.3",
            "maxmemory": str(256 * 1024 * 1024), "maxmemory-policy": "noeviction", "save": "", "appendonly": "no"}
    assert redis.differences(wanted, live) == {"maxmemory-policy": ("noeviction", "allkeys-lru")}
    live["maxmemory"] = "1000"
    assert redis.differences(wanted, live)["maxmemory"] == ("1000", "256mb")


@pytest.mark.parametrize(("reply", "expected"), [
    (["maxmemory", "0", "save", ""], {"maxmemory": "0", "save": ""}),
    ({"maxmemory": "0"}, {"maxmemory": "0"}),
])
def test_config_get_replies_of_either_protocol(reply, expected):
    assert redis.pairs(reply) == expected
