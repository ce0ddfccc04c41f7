"""The command line's checkpoint file: one JSON line per finished shard, keyed by its SHA-256.

The first line names the hash lists (name, algorithm, version, threshold) the results were
matched against; a checkpoint written against other lists is not used, so a resumed scan
never mixes results of two list versions. Each shard's line is flushed and synced to disk
before the scan goes on, and a line cut short by a kill is ignored when the file is read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

CHECKPOINT_TYPE = "hostguard.dataset-scan-checkpoint/v1"


class Checkpoint:
    def __init__(self, path: str | os.PathLike, lists: list[dict]):
        self.path = Path(path)
        self.lists = lists
        self.done: dict[str, dict] = {}
        if self.path.exists():
            self.done = _read(self.path, lists)
        if not self.done:
            self._start()

    def _start(self) -> None:
        with open(self.path, "w", encoding="utf-8") as handle:
            handle.write(json.dumps({"type": CHECKPOINT_TYPE, "lists": self.lists}) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def record(self, sha256: str, result: dict) -> None:
        self.done[sha256] = result
        line = json.dumps({"sha256": sha256, "result": result}, sort_keys=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def _read(path: Path, lists: list[dict]) -> dict[str, dict]:
    done: dict[str, dict] = {}
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    try:
        header = json.loads(lines[0])
    except (json.JSONDecodeError, IndexError):
        return {}
    if header.get("type") != CHECKPOINT_TYPE or header.get("lists") != lists:
        return {}
    for line in lines[1:]:
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue  # the line a kill cut short (or the empty one after the last newline)
        if isinstance(item, dict) and isinstance(item.get("result"), dict):
            done[str(item.get("sha256"))] = item["result"]
    return done
