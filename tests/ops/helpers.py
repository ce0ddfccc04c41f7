"""Starting real hostguard processes (worker, web) for the multi-process tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOSTGUARD = [sys.executable, "-c", "from hostguard.cli import main; main()"]


def process_env(runtime, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTGUARD_")}
    env.update(
        {
            "HOSTGUARD_ENV": "test",
            "HOSTGUARD_DATA_DIR": str(runtime.settings.data_dir),
            "HOSTGUARD_DATABASE_URL": runtime.settings.effective_database_url,
            "HOSTGUARD_LOG_JSON": "true",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(extra)
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    handle = log.open("ab")
    return subprocess.Popen(
        [*HOSTGUARD, *args], env=env, cwd=ROOT, stdout=handle, stderr=handle, start_new_session=True
    )


def wait_for(condition: Callable[[], object], *, timeout: float = 30, what: str = "condition"):
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
    """Signal the process group started by `start` and wait for the process to exit."""
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sample_image(seed: int, size: tuple[int, int] = (320, 240)) -> bytes:
    """A smooth, structured, harmless PNG (PDQ gives such images a high quality score)."""
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)
    img = Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def pdq_hash(data: bytes) -> str:
    from hostguard.hashing.hasher import hash_blobs

    (result,) = list(hash_blobs([("image.png", data)], ("pdq",)))
    return result.primary("pdq").hash
