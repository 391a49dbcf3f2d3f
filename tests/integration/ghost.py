"""The integration tests' inventory with a second host nobody answers for."""

from pathlib import Path

HERE = Path(__file__).parent


def inventory_with_ghost(directory: Path) -> Path:
    """tests/integration/inventory.yml plus `ghost` (SSH to a closed port on loopback), in
    `directory` with the same group_vars; the path of the new inventory."""
    inventory = directory / "inventory.yml"
    inventory.write_text((HERE / "inventory.yml").read_text().replace(
        "  hosts:\n    control:\n", "  hosts:\n    ghost:\n      ansible_host: 127.0.0.1\n      ansible_port: 9\n"
        "      ansible_connection: ssh\n    control:\n", 1).replace(
        "    region_local:\n      hosts:\n        control:\n",
        "    region_local:\n      hosts:\n        control:\n        ghost:\n", 1))
    (directory / "group_vars").symlink_to(HERE / "group_vars")
    return inventory
