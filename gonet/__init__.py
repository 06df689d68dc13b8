"""gonet: a Go-playing agent and AlphaGo-style policy-network trainer.

Importing gonet registers the Gymnasium environment ``gonet/Go-v0`` (as ``import ale_py``
does for Atari), so ``gym.make("gonet/Go-v0")`` works after a plain ``import gonet``. Only
the id is registered here; numba, torch and the env module load when the env is made.
"""

__version__ = "0.1.0"


def _register_env() -> None:
    from gymnasium.envs.registration import register, registry

    if "gonet/Go-v0" not in registry:
        register(id="gonet/Go-v0", entry_point="gonet.env:GoEnv")


_register_env()
