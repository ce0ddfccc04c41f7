"""Where a dataset's images come from: folders, parquet files, WebDataset tar shards, Hub repos.

A source is split into shards, the unit of work, of resumption and of the dataset's identity
(each shard is named by the SHA-256 of its bytes). `images(shard)` streams a shard's images
one at a time with bounded memory, whatever the shard's size: parquet is read a batch of rows
at a time (pyarrow, never a whole row group of a wide table), a tar archive member by member
(the stdlib `tarfile` in stream mode), a folder file by file. A Hub dataset repository is read
at one revision through `huggingface_hub`: its parquet and tar files are its shards, each
downloaded when its turn comes and deleted after.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff")
PARQUET_SUFFIXES = (".parquet",)
TAR_SUFFIXES = (".tar",)
FOLDER_SHARD_FILES = 1000  # a folder's images are scanned (and resumed) in shards of this many
PARQUET_BATCH_ROWS = 64  # rows held at once while a parquet shard is read
HUB_PREFIX = "hf://datasets/"
# what parse_hub_spec takes, as the API's document says it: OWNER/NAME as the Hub spells them,
# a revision (branch, tag, commit or refs/pr/N) of the characters git refs use
HUB_REVISION = r"^[A-Za-z0-9._/-]{0,100}$"
HUB_SOURCE = (
    r"^hf://datasets/[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}"
    r"(@[A-Za-z0-9._/-]{1,100})?$"
)


class SourceError(Exception):
    """A source that cannot be read at all (missing, of an unknown kind); the message says why."""


@dataclass(frozen=True)
class Shard:
    """One unit of a dataset: a parquet file, a tar shard, a slice of a folder, a Hub file.

    `sha256` is known up front for local files (computed by `with_digest`) and for Hub files
    the Hub stores in LFS; otherwise it is computed where the shard is read.
    """

    kind: str  # "parquet", "webdataset", "folder", or "hub" (a parquet/tar file in a Hub repo)
    name: str  # what results name as the source: a path, or repo@revision/file
    path: str | None = None  # a local file
    files: tuple[str, ...] = ()  # a folder shard's files
    hub: tuple[str, str, str, str | None] | None = None  # (repo, revision, file, endpoint)
    sha256: str | None = None


@dataclass
class DatasetImage:
    """One image as a shard yields it: its row (parquet, tar sample) or key, and its bytes."""

    source: str
    row: int | None
    key: str | None
    data: bytes | None
    error: str | None = None  # the image could not even be read from the shard


@dataclass
class Dataset:
    """What a scan names as the dataset: a Hub repo at a revision, or local shards."""

    shards: list[Shard]
    repo: str | None = None
    revision: str | None = None


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def folder_sha256(files: tuple[str, ...], root: str) -> str:
    """A folder shard's identity: its files' relative names and SHA-256s, in order."""
    digest = hashlib.sha256()
    for name in files:
        rel = os.path.relpath(name, root)
        digest.update(f"{rel}\0{file_sha256(name)}\n".encode())
    return digest.hexdigest()


def with_digest(shard: Shard) -> Shard:
    """The shard with its SHA-256, computed from the local bytes when not known yet."""
    if shard.sha256 is not None or shard.kind == "hub":
        return shard
    if shard.kind == "folder":
        root = shard.name
        return _replace(shard, sha256=folder_sha256(shard.files, root))
    assert shard.path is not None
    return _replace(shard, sha256=file_sha256(shard.path))


def _replace(shard: Shard, **changes) -> Shard:
    values = {**shard.__dict__, **changes}
    return Shard(**values)


def _kind_of(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    if suffix in TAR_SUFFIXES:
        return "webdataset"
    return None


def open_sources(specs: list[str], *, hub_endpoint: str | None = None) -> Dataset:
    """The shards of every source named, in a stable order (sorted within each source)."""
    shards: list[Shard] = []
    repo = revision = None
    for spec in specs:
        if spec.startswith(HUB_PREFIX):
            hub = hub_dataset(spec, endpoint=hub_endpoint)
            shards.extend(hub.shards)
            repo, revision = hub.repo, hub.revision
            continue
        path = Path(spec)
        if path.is_dir():
            shards.extend(_local_dir_shards(path))
        elif path.is_file():
            kind = _kind_of(path)
            if kind is None:
                raise SourceError(f"{spec}: not a parquet file, a .tar shard or a folder")
            shards.append(Shard(kind=kind, name=str(path), path=str(path)))
        else:
            raise SourceError(f"{spec}: no such file or folder")
    if not shards:
        raise SourceError("no shards or images found in the sources given")
    if len(specs) > 1 or not specs[0].startswith(HUB_PREFIX):
        repo = revision = None  # a mix of sources is named by its shards' digests
    return Dataset(shards=shards, repo=repo, revision=revision)


def _local_dir_shards(root: Path) -> list[Shard]:
    """Parquet and tar files in a folder are shards; loose images make folder shards."""
    shards: list[Shard] = []
    images: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in sorted(filenames):
            full = Path(dirpath) / filename
            kind = _kind_of(full)
            if kind is not None:
                shards.append(Shard(kind=kind, name=str(full), path=str(full)))
            elif full.suffix.lower() in IMAGE_SUFFIXES:
                images.append(str(full))
    for start in range(0, len(images), FOLDER_SHARD_FILES):
        shards.append(
            Shard(
                kind="folder",
                name=str(root),
                files=tuple(images[start : start + FOLDER_SHARD_FILES]),
            )
        )
    return shards


def parse_hub_spec(spec: str) -> tuple[str, str | None]:
    """`hf://datasets/OWNER/NAME[@REVISION]` -> (repo id, revision or None)."""
    rest = spec[len(HUB_PREFIX) :].strip("/")
    repo, _, revision = rest.partition("@")
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise SourceError(f"{spec}: expected hf://datasets/OWNER/NAME[@REVISION]")
    return repo, revision or None


def hub_dataset(spec: str, *, endpoint: str | None = None) -> Dataset:
    """A Hub dataset repository at a revision (the head of main by default), as shards."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    repo, revision = parse_hub_spec(spec)
    api = HfApi(endpoint=endpoint or None)
    try:
        info = api.dataset_info(repo, revision=revision, files_metadata=True)
    except HfHubHTTPError as exc:
        raise SourceError(f"{spec}: the Hub does not answer with the dataset ({exc})") from None
    resolved = info.sha or revision or "main"
    shards = []
    for sibling in sorted(info.siblings or [], key=lambda s: s.rfilename):
        kind = _kind_of(Path(sibling.rfilename))
        if kind is None:
            continue
        lfs = getattr(sibling, "lfs", None)
        shards.append(
            Shard(
                kind="hub",
                name=f"{repo}@{resolved}/{sibling.rfilename}",
                hub=(repo, resolved, sibling.rfilename, endpoint),
                sha256=getattr(lfs, "sha256", None) if lfs is not None else None,
            )
        )
    return Dataset(shards=shards, repo=repo, revision=resolved)


def download_hub_shard(shard: Shard, directory: str) -> Shard:
    """The Hub shard downloaded into `directory`, as a local shard of its own kind."""
    from huggingface_hub import hf_hub_download

    assert shard.hub is not None
    repo, revision, filename, endpoint = shard.hub
    path = hf_hub_download(
        repo,
        filename,
        repo_type="dataset",
        revision=revision,
        cache_dir=directory,
        endpoint=endpoint or None,
    )
    kind = _kind_of(Path(filename))
    assert kind is not None  # only parquet and tar files become Hub shards
    return Shard(kind=kind, name=shard.name, path=path, sha256=shard.sha256 or file_sha256(path))


def images(shard: Shard) -> Iterator[DatasetImage]:
    """Stream a local shard's images; a Hub shard is downloaded first and deleted after."""
    if shard.kind == "hub":
        directory = tempfile.mkdtemp(prefix="hostguard-dataset-")
        try:
            yield from images(download_hub_shard(shard, directory))
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    if shard.kind == "folder":
        yield from _folder_images(shard)
    elif shard.kind == "parquet":
        yield from parquet_images(shard)
    elif shard.kind == "webdataset":
        yield from webdataset_images(shard)
    else:
        raise SourceError(f"{shard.name}: unknown shard kind {shard.kind!r}")


def _folder_images(shard: Shard) -> Iterator[DatasetImage]:
    for name in shard.files:
        try:
            data = Path(name).read_bytes()
        except OSError as exc:
            yield DatasetImage(name, None, None, None, f"cannot read file: {exc.strerror}")
            continue
        yield DatasetImage(name, None, None, data)


def image_column(schema) -> tuple[str, bool]:
    """The column holding images: (name, whether it is the `datasets` Image struct).

    The Hugging Face `datasets` Image feature is stored as a struct of `bytes` and `path`;
    a plain binary column holds the encoded bytes themselves. The first Image struct wins,
    then the first binary column.
    """
    import pyarrow as pa

    binary = None
    for column in schema:
        kind = column.type
        if pa.types.is_struct(kind):
            names = {kind.field(i).name for i in range(kind.num_fields)}
            if "bytes" in names:
                return column.name, True
        elif binary is None and (pa.types.is_binary(kind) or pa.types.is_large_binary(kind)):
            binary = column.name
    if binary is None:
        raise SourceError("no image column: expected an Image struct (bytes, path) or binary")
    return binary, False


def parquet_images(shard: Shard) -> Iterator[DatasetImage]:
    """Rows of a parquet shard's image column, a small batch at a time."""
    import pyarrow.parquet as pq

    assert shard.path is not None
    try:
        parquet = pq.ParquetFile(shard.path)
        column, is_struct = image_column(parquet.schema_arrow)
    except SourceError as exc:
        raise SourceError(f"{shard.name}: {exc}") from None
    except Exception as exc:  # pyarrow raises its own types on a file that is not parquet
        raise SourceError(f"{shard.name}: not a readable parquet file ({exc})") from None
    row = 0
    for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=[column]):
        values = batch.column(0)
        if is_struct:
            data_values = values.field("bytes").to_pylist()
            kind = values.type
            has_path = any(kind.field(i).name == "path" for i in range(kind.num_fields))
            paths = values.field("path").to_pylist() if has_path else [None] * len(values)
        else:
            data_values = values.to_pylist()
            paths = [None] * len(values)
        for data, path in zip(data_values, paths, strict=True):
            if data is None:
                yield DatasetImage(shard.name, row, path, None, "no image bytes in this row")
            else:
                yield DatasetImage(shard.name, row, path or None, data)
            row += 1


def webdataset_images(shard: Shard) -> Iterator[DatasetImage]:
    """Images of a WebDataset tar shard, member by member; `row` counts samples (keys)."""
    assert shard.path is not None
    sample = -1
    current = None
    try:
        with tarfile.open(shard.path, mode="r|*") as archive:
            for member in archive:
                if not member.isfile():
                    continue
                base = member.name.rsplit("/", 1)[-1]
                directory = member.name[: len(member.name) - len(base)]
                stem, dot, extension = base.partition(".")
                key = directory + stem
                if key != current:
                    current, sample = key, sample + 1
                if "." + extension.lower().rsplit(".", 1)[-1] not in IMAGE_SUFFIXES or not dot:
                    continue
                handle = archive.extractfile(member)
                data = handle.read() if handle is not None else None
                yield DatasetImage(shard.name, sample, key, data, None if data else "empty")
    except tarfile.TarError as exc:
        raise SourceError(f"{shard.name}: not a readable tar shard ({exc})") from None


def count_images(shard: Shard) -> int | None:
    """How many images a shard holds, when that is cheap to know (for the progress bar)."""
    if shard.kind == "folder":
        return len(shard.files)
    if shard.kind == "parquet" and shard.path:
        try:
            import pyarrow.parquet as pq

            return pq.ParquetFile(shard.path).metadata.num_rows
        except Exception:  # unreadable: the scan itself says why
            return None
    return None
