"""A scan killed in the middle and started again skips the shards it finished and gives the
same result as a scan that was never interrupted (a real process, really killed)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import cli_env
from tests.datasets import builders

SHARDS = 8


def shard_lines(path) -> list[dict]:
    if not path.exists():
        return []
    lines = []
    for line in path.read_text().split("\n")[1:]:
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return lines


def comparable(summary: dict) -> dict:
    claims = summary["attestation"]["attestation"]
    return {
        **{k: summary[k] for k in ("images", "unreadable", "matches", "unreadable_images")},
        "dataset": claims["dataset"],
        "counts": claims["counts"],
        "lists": claims["lists"],
    }


@pytest.mark.slow
def test_killed_scan_resumes_from_its_checkpoint_with_the_same_result(cli, runtime, tmp_path):
    built = builders.Built()
    for n in range(SHARDS):
        builders.parquet_binary(
            tmp_path / f"part-{n:02d}.parquet",
            built,
            base=n * 1000,
            rows=100,
            listed={n * 7: 800_000 + n} if n % 3 == 0 else {},
            bad_row=n * 11 + 1,
        )
    with runtime.session() as session:
        from hostguard.hashing import service as hashing

        hashing.import_list(
            session=session,
            actor="test",
            name="known",
            algorithm="pdq",
            data="\n".join(builders.listed_hash(s) for s in built.listed_seeds),
        )
    checkpoint = tmp_path / "scan.checkpoint"
    command = [
        sys.executable,
        "-c",
        "from hostguard.cli import main; main()",
        "dataset",
        "scan",
        "--json",
        "--workers",
        "1",
        "--checkpoint",
        str(checkpoint),
        *built.sources,
    ]
    env = {**os.environ, **cli_env(runtime)}
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(shard_lines(checkpoint)) < 2 and time.monotonic() < deadline:
        assert first.poll() is None, first.stderr.read() if first.stderr else ""
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    finished = shard_lines(checkpoint)
    assert 2 <= len(finished) < SHARDS  # killed in the middle
    # started again: the finished shards are not scanned again, the rest are
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 1, second.stderr
    lines = shard_lines(checkpoint)
    assert len(lines) == SHARDS
    assert len({line["sha256"] for line in lines}) == SHARDS  # none recorded twice
    assert lines[: len(finished)] == finished
    resumed = json.loads(second.stdout)
    # the same as a scan that ran through
    whole = cli("dataset", "scan", "--json", "--workers", "1", *built.sources)
    assert comparable(resumed) == comparable(json.loads(whole.stdout))
    assert {(m["source"], m["row"], m["key"]) for m in resumed["matches"]} == built.listed
    assert resumed["unreadable"] == SHARDS
