# Runs inside the debootstrapped root (chroot) to finish the test-host image.
# Inputs from the environment: MIRROR, SECURITY (may be empty), VALID_UNTIL (may be empty).
set -euo pipefail

cat >/etc/apt/sources.list <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
EOF
if [ -n "$SECURITY" ]; then
  echo "deb $SECURITY bookworm-security main" >>/etc/apt/sources.list
fi
if [ -n "$VALID_UNTIL" ]; then
  echo "Acquire::Check-Valid-Until \"$VALID_UNTIL\";" >/etc/apt/apt.conf.d/10testhost-mirror
fi
# Keep downloaded packages: test hosts share one archive cache mounted from the build machine.
echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' >/etc/apt/apt.conf.d/10testhost-keep-debs

# Every container gets its own machine id and SSH host keys on first boot.
: >/etc/machine-id
rm -f /var/lib/dbus/machine-id /etc/ssh/ssh_host_*
mkdir -p /etc/systemd/system/ssh.service.d
cat >/etc/systemd/system/ssh.service.d/10-host-keys.conf <<'EOF'
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
EOF
systemctl enable ssh.service

# Units that have no job in a container (no consoles, no udev, no kernel knobs to set).
systemctl mask getty@tty1.service console-getty.service serial-getty@.service \
  systemd-udevd.service systemd-udev-trigger.service systemd-modules-load.service \
  sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
  systemd-firstboot.service systemd-remount-fs.service >/dev/null 2>&1 || true

echo testhost >/etc/hostname
# Package lists as a provisioned server has them (a --check run on a fresh host resolves
# packages against them), marked stale so the first real run refreshes them: Ansible's
# apt module goes by this directory's mtime when apt has no update stamp.
apt-get update -qq
rm -f /var/lib/apt/periodic/update-success-stamp
touch -d @0 /var/lib/apt/lists
rm -rf /var/cache/apt/*.bin /var/cache/apt/archives/*.deb /var/log/*.log
