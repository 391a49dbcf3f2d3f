"""The fleet's TLS policy, written once: what each kind of endpoint accepts.

Two profiles, named after Mozilla's server-side TLS recommendations, which the tests
measure with sslyze (`--mozilla_config`):

- `public` (Mozilla "intermediate"): the load balancers, whose clients are anyone's
  browsers: TLS 1.2 and 1.3.
- `internal` (Mozilla "modern"): every endpoint only our own programs connect to
  (PostgreSQL, pgbouncer, Redis, Sentinel, pgBackRest, the exporters, Prometheus,
  Alertmanager, the registry): TLS 1.3 only. Every client the fleet runs speaks it
  (OpenSSL 3 in libpq, pgbouncer, pgBackRest, redis-cli and Redis itself; Go's
  crypto/tls in Prometheus, the exporters and dockerd; Node's OpenSSL in the app).

Both allow the key-exchange groups X25519, P-256 and P-384 only.

`tls_profile(name)` returns the profile in each daemon's spelling: OpenSSL's protocol
and group names, Go's (exporter-toolkit web configs), pgbouncer's and the registry's,
and an OpenSSL configuration file (`openssl_conf`) for daemons that have no setting of
their own for the groups (Redis, Sentinel, pgbouncer, pgBackRest): their units point
OPENSSL_CONF at it, and OpenSSL applies it to every TLS context the daemon makes, as a
server and as a client. Unit tests: tests/unit/test_tls.py.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

GROUPS = ("X25519", "prime256v1", "secp384r1")
PROFILES = {
    "public": ("TLSv1.2", "TLSv1.3"),
    "internal": ("TLSv1.3",),
}
GO_GROUPS = {"X25519": "X25519", "prime256v1": "CurveP256", "secp384r1": "CurveP384"}


def tls_profile(name):
    """The profile `name` ("public" or "internal") in every spelling the roles need."""
    if name not in PROFILES:
        raise AnsibleFilterError(f"tls_profile: unknown profile {name!r}; expected one of {sorted(PROFILES)}")
    versions = PROFILES[name]
    lowest = versions[0]
    number = lowest.removeprefix("TLSv")
    return {
        "versions": list(versions),
        "min_version": lowest,
        "groups": list(GROUPS),
        # Redis' tls-protocols.
        "openssl_versions": " ".join(versions),
        # Go's crypto/tls through exporter-toolkit's web config (min_version, curve_preferences).
        "go_min_version": "TLS" + number.replace(".", ""),
        "go_curves": [GO_GROUPS[g] for g in GROUPS],
        # redis_exporter's -tls-server-min-version.
        "redis_exporter_min_version": "TLS" + number,
        # distribution's http.tls.minimumtls.
        "registry_min_version": "tls" + number,
        # pgbouncer's client_tls_protocols.
        "pgbouncer_protocols": ",".join(v.lower() for v in versions),
        "openssl_conf": _openssl_conf(name, lowest),
    }


def _openssl_conf(name, lowest):
    # It replaces Debian's /etc/ssl/openssl.cnf for the daemon: the security level
    # Debian sets there is set here too.
    return "\n".join((
        f"# OpenSSL settings of the {name!r} TLS profile (filter_plugins/tls.py).",
        "openssl_conf = editaliza_conf",
        "",
        "[editaliza_conf]",
        "ssl_conf = editaliza_ssl",
        "",
        "[editaliza_ssl]",
        "system_default = editaliza_tls",
        "",
        "[editaliza_tls]",
        f"MinProtocol = {lowest}",
        "Groups = " + ":".join(GROUPS),
        "CipherString = DEFAULT:@SECLEVEL=2",
        "",
    ))


class FilterModule:
    def filters(self):
        return {"tls_profile": tls_profile}
