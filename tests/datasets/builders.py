"""Generated datasets for the scan tests: parquet (Image feature, binary), WebDataset, folders."""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from hostguard.hashing.algorithms import ALGORITHMS

UNREADABLE = b"\xff\xd8\xff\xe0 not really a jpeg"


def picture(seed: int, size: int = 64) -> Image.Image:
    """A distinct, detailed picture (smooth noise), cheap to make and to hash."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    img = Image.fromarray(coarse, "RGB").resize((size, size), Image.Resampling.BICUBIC)
    noise = rng.integers(-12, 12, (size, size, 3))
    return Image.fromarray(np.clip(np.asarray(img) + noise, 0, 255).astype(np.uint8), "RGB")


def png(seed: int) -> bytes:
    buffer = io.BytesIO()
    picture(seed).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def listed_hash(seed: int) -> str:
    """What a list provider would list: the plain PDQ hash of the original picture."""
    return ALGORITHMS["pdq"].hash_image(picture(seed)).hash


@dataclass
class Built:
    """Where the listed images and the unreadable ones were hidden: (source, row, key)."""

    sources: list[str] = field(default_factory=list)
    listed: set[tuple[str, int | None, str | None]] = field(default_factory=set)
    unreadable: set[tuple[str, int | None, str | None]] = field(default_factory=set)
    listed_seeds: list[int] = field(default_factory=list)
    images: int = 0


def _bytes_for(seed: int, row: int, listed_rows: dict[int, int], bad_row: int | None) -> bytes:
    if row == bad_row:
        return UNREADABLE
    return png(listed_rows.get(row, seed))


def parquet_image_feature(
    path: Path,
    built: Built,
    *,
    base: int,
    rows: int,
    listed: dict[int, int],
    bad_row: int | None,
    row_group: int = 100,
) -> None:
    """The `datasets` Image feature: a struct column of bytes and path, several row groups."""
    data = [_bytes_for(base + r, r, listed, bad_row) for r in range(rows)]
    paths = write_image_feature(path, built, data, base=base, row_group=row_group)
    for row, seed in listed.items():
        built.listed.add((str(path), row, paths[row]))
        built.listed_seeds.append(seed)
    if bad_row is not None:
        built.unreadable.add((str(path), bad_row, paths[bad_row]))


def write_image_feature(
    path: Path, built: Built, data: list[bytes], *, base: int = 0, row_group: int = 100
) -> list[str]:
    """Encoded images as a parquet file's Image-feature column; their `path` names."""
    paths = [f"img_{base + r}.png" for r in range(len(data))]
    image = pa.StructArray.from_arrays(
        [pa.array(data, pa.binary()), pa.array(paths, pa.string())], names=["bytes", "path"]
    )
    table = pa.table({"id": pa.array(range(len(data))), "image": image})
    pq.write_table(table, path, row_group_size=row_group)
    built.sources.append(str(path))
    built.images += len(data)
    return paths


def parquet_binary(
    path: Path, built: Built, *, base: int, rows: int, listed: dict[int, int], bad_row: int | None
) -> None:
    """A plain binary column of encoded images (and a caption)."""
    data = [_bytes_for(base + r, r, listed, bad_row) for r in range(rows)]
    table = pa.table(
        {"caption": [f"c{r}" for r in range(rows)], "jpg": pa.array(data, pa.binary())}
    )
    pq.write_table(table, path, row_group_size=64)
    built.sources.append(str(path))
    built.images += rows
    for row, seed in listed.items():
        built.listed.add((str(path), row, None))
        built.listed_seeds.append(seed)
    if bad_row is not None:
        built.unreadable.add((str(path), bad_row, None))


def webdataset(
    path: Path, built: Built, *, base: int, rows: int, listed: dict[int, int], bad_row: int | None
) -> None:
    """A WebDataset shard: per sample `KEY.png` and `KEY.txt`, in key order."""
    with tarfile.open(path, "w") as archive:
        for r in range(rows):
            key = f"{base + r:06d}"
            for name, data in (
                (f"{key}.png", _bytes_for(base + r, r, listed, bad_row)),
                (f"{key}.txt", f"caption {r}".encode()),
            ):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    built.sources.append(str(path))
    built.images += rows
    for row, seed in listed.items():
        built.listed.add((str(path), row, f"{base + row:06d}"))
        built.listed_seeds.append(seed)
    if bad_row is not None:
        built.unreadable.add((str(path), bad_row, f"{base + bad_row:06d}"))


def folder(
    path: Path, built: Built, *, base: int, count: int, listed: dict[int, int], bad: int | None
) -> None:
    path.mkdir()
    for i in range(count):
        name = path / f"f_{i:04d}.png"
        name.write_bytes(_bytes_for(base + i, i, listed, bad))
        if i in listed:
            built.listed.add((str(name), None, None))
            built.listed_seeds.append(listed[i])
        if i == bad:
            built.unreadable.add((str(name), None, None))
    built.sources.append(str(path))
    built.images += count
