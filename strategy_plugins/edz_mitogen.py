"""Linear strategy that runs remote plays through Mitogen and local plays without it.

Mitogen (requirements.txt) keeps one Python interpreter open per host for a whole run
and imports each module into it, instead of starting an interpreter per task that
re-imports Ansible's module utilities from the task's payload: on the 2-core build
machines a no-op converge takes about half the time (README, "Performance notes").

Plays with `connection: local` (Molecule's docker create and destroy playbooks, which
start containers with `async` and poll them with `async_status`) run with the plain
linear strategy: Molecule's destroy hung under Mitogen's local connection. Everything
else (our converge, prepare, check and idempotence runs, and the playbooks the tests
start) runs through Mitogen.

Select it with `strategy = edz_mitogen` and `strategy_plugins` pointing at this
directory; `EDZ_ANSIBLE_STRATEGY=linear scripts/test ...` turns it off for the tests.
"""

from ansible.plugins.strategy import linear

try:
    from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule as _Mitogen
except ImportError as exc:  # pragma: no cover - depends on the virtualenv
    raise ImportError(
        "strategy edz_mitogen needs the mitogen package (requirements.txt): "
        f"{exc}; run scripts/setup, or set the strategy to linear"
    ) from exc


def runs_locally(play) -> bool:
    """True when the play's tasks run on the control node itself."""
    return play.connection == "local"


class StrategyModule(_Mitogen):
    def run(self, iterator, play_context):
        if runs_locally(iterator._play):
            return linear.StrategyModule.run(self, iterator, play_context)
        return super().run(iterator, play_context)
