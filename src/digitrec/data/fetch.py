"""Find, download and verify data sets, then load them as arrays.

Where files are looked for, in order:

1. ``data_dir`` (``--data-dir``) or the ``DIGITREC_DATA_DIR`` environment
   variable: a folder holding the four IDX files, gzip-compressed or raw. A
   folder given this way must be complete; nothing is downloaded beside it.
2. The user cache: ``DIGITREC_CACHE`` if set, else the platform's cache folder.
3. A download from the data set's mirrors, in order, through pooch. Each file
   is staged in a temporary folder inside the cache and moved into place only
   once its content checksum matches.

Every file's decompressed content is checked against its registered sha256
before first use; a file that fails is named in the error and never used.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from digitrec._files import publish
from digitrec.data.idx import decompress, parse_idx
from digitrec.data.registry import PARTS, DataFile, Dataset, get_dataset
from digitrec.errors import ChecksumError, DataError

__all__ = ["Data", "cache_dir", "fetch", "load_dataset", "load_mnist"]

log = logging.getLogger(__name__)

ENV_DATA_DIR = "DIGITREC_DATA_DIR"
ENV_CACHE = "DIGITREC_CACHE"


@dataclass(frozen=True)
class Data:
    """A loaded data set: train and test images (N, 28, 28) uint8 and labels (N,) uint8."""

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    #: part name -> sha256 of the decompressed file, as verified on load.
    checksums: dict[str, str] = field(default_factory=dict)
    #: part name -> the file each array was read from.
    paths: dict[str, Path] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """One sha256 over the four content checksums: identifies the exact data."""
        joined = "".join(self.checksums[p] for p in PARTS)
        return hashlib.sha256(joined.encode()).hexdigest()


def cache_dir(dataset: str | None = None) -> Path:
    """The user cache folder (``DIGITREC_CACHE`` or the platform default).

    Parameters
    ----------
    dataset : str, optional
        If given, the sub-folder for that data set.
    """
    env = os.environ.get(ENV_CACHE)
    if env:
        root = Path(env).expanduser()
    else:
        import platformdirs

        root = Path(platformdirs.user_cache_dir("digitrec"))
    return root / dataset if dataset else root


def _candidates(folder: Path, spec: DataFile) -> list[Path]:
    return [folder / spec.name, folder / spec.stem]


def _read_verified(path: Path, spec: DataFile) -> bytes:
    """Read ``path``, decompress it and check its content sha256."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file ({exc.strerror})") from exc
    content = decompress(raw, str(path))
    digest = hashlib.sha256(content).hexdigest()
    if digest != spec.sha256:
        raise ChecksumError(
            f"{path}: content sha256 mismatch: expected {spec.sha256}, found {digest} "
            f"({len(content)} bytes after decompression); the file is corrupt or truncated: "
            "delete it and run `digitrec fetch` to download it again"
        )
    return content


def _from_folder(folder: Path, ds: Dataset) -> dict[str, Path]:
    found: dict[str, Path] = {}
    missing = []
    for part in PARTS:
        spec = ds.file(part)
        hit = next((p for p in _candidates(folder, spec) if p.is_file()), None)
        if hit is None:
            missing.append(spec.name)
        else:
            found[part] = hit
    if missing:
        raise DataError(
            f"{folder}: data folder is missing {', '.join(missing)} (gzip or raw); expected "
            f"the four {ds.name} files {', '.join(ds.file(p).name for p in PARTS)}; copy the "
            "missing files there, or unset DIGITREC_DATA_DIR / drop --data-dir to download"
        )
    return found


def _ensure_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise DataError(
            f"{folder}: cache folder is not writable ({exc.strerror or exc}); set "
            f"{ENV_CACHE} to a writable folder, or pass --data-dir with the files"
        ) from exc


def _download(ds: Dataset, spec: DataFile, target: Path, progress: bool) -> list[str]:
    """Download ``spec`` into ``target`` from the first mirror that serves valid content.

    Returns the failures, one line per mirror, if every mirror failed.
    """
    import pooch

    pooch.get_logger().setLevel(logging.WARNING)
    if not ds.mirrors:
        return [f"{ds.name}: no download mirrors are registered"]
    failures = []
    for mirror in ds.mirrors:
        url = mirror + spec.name
        staging = Path(tempfile.mkdtemp(prefix=".download-", dir=target.parent))
        try:
            # known_hash=None: content decides, not the .gz container, so a
            # re-compressed copy on a mirror is as good as the original.
            fetched = pooch.retrieve(
                url, known_hash=None, fname=spec.name, path=staging, progressbar=progress
            )
            _read_verified(Path(fetched), spec)
            publish(fetched, target)
            return []
        except (DataError, OSError, ValueError) as exc:
            failures.append(f"{url}: {exc}")
        except Exception as exc:  # requests' errors: connection refused, 404, ...
            failures.append(f"{url}: {type(exc).__name__}: {exc}")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return failures


def fetch(
    dataset: str = "mnist", data_dir: str | os.PathLike | None = None, *, progress: bool = True
) -> dict[str, Path]:
    """Find or download a data set's four files and verify them.

    Parameters
    ----------
    dataset : str
        A registered data set name (``"mnist"`` or ``"fashion-mnist"``).
    data_dir : path-like, optional
        A folder holding the files. Defaults to ``DIGITREC_DATA_DIR``, then the
        cache, then a download.
    progress : bool
        Show a progress bar while downloading.

    Returns
    -------
    dict
        Part name (``train_images``, ``train_labels``, ``test_images``,
        ``test_labels``) to the verified file's path.

    Raises
    ------
    DataError
        If a file cannot be found or downloaded; the message lists where it looked.
    ChecksumError
        If a file's content does not match its checksum.
    """
    return {part: path for part, (path, _) in _locate(dataset, data_dir, progress).items()}


def _locate(
    dataset: str, data_dir: str | os.PathLike | None, progress: bool
) -> dict[str, tuple[Path, bytes]]:
    """Find every part and return its path with its verified, decompressed content."""
    ds = get_dataset(dataset)
    explicit = data_dir if data_dir is not None else os.environ.get(ENV_DATA_DIR) or None
    if explicit is not None:
        folder = Path(explicit).expanduser()
        if not folder.is_dir():
            source = "--data-dir" if data_dir is not None else ENV_DATA_DIR
            raise DataError(
                f"{folder}: expected a folder with the {ds.name} files ({source}), found "
                f"{'a file' if folder.exists() else 'nothing'}; point {source} at the folder "
                "that holds them"
            )
        found = _from_folder(folder, ds)
        return {part: (p, _read_verified(p, ds.file(part))) for part, p in found.items()}

    cache = cache_dir(ds.name)
    result: dict[str, tuple[Path, bytes]] = {}
    for part in PARTS:
        spec = ds.file(part)
        cached = next((p for p in _candidates(cache, spec) if p.is_file()), None)
        corrupt = None
        if cached is not None:
            try:
                result[part] = (cached, _read_verified(cached, spec))
                continue
            except DataError as exc:
                corrupt = exc
                log.warning("%s; downloading it again", exc)
        _ensure_writable(cache)
        target = cache / spec.name
        failures = _download(ds, spec, target, progress)
        if failures:
            looked = [
                f"{ENV_DATA_DIR} / --data-dir: not set",
                f"cache {cache}: {'corrupt: ' + str(corrupt) if corrupt else 'no ' + spec.name}",
                *(f"download {line}" for line in failures),
            ]
            raise DataError(
                f"cannot find {ds.name} file {spec.name}. Looked in:\n  - "
                + "\n  - ".join(looked)
                + f"\nFix: connect to the internet and run `digitrec fetch --dataset {ds.name}`, "
                f"or download the four files yourself and set {ENV_DATA_DIR} to their folder"
            )
        result[part] = (target, _read_verified(target, spec))
    return result


def load_dataset(
    dataset: str = "mnist", data_dir: str | os.PathLike | None = None, *, progress: bool = True
) -> Data:
    """Load a registered IDX data set as numpy arrays, verified by checksum.

    Parameters
    ----------
    dataset : str
        ``"mnist"`` or ``"fashion-mnist"``.
    data_dir : path-like, optional
        A folder holding the four files (gzip or raw). Defaults to
        ``DIGITREC_DATA_DIR``, then the user cache, then a download.
    progress : bool
        Show a progress bar while downloading.

    Returns
    -------
    Data
        Train and test images (uint8, N x 28 x 28) and labels (uint8, N).

    Raises
    ------
    DataError
        If the files cannot be found, read or trusted, or disagree with each other.

    Examples
    --------
    >>> data = load_dataset("mnist")  # doctest: +SKIP
    >>> data.train_images.shape  # doctest: +SKIP
    (60000, 28, 28)
    """
    ds = get_dataset(dataset)
    located = _locate(dataset, data_dir, progress)
    arrays = {part: parse_idx(content, str(path)) for part, (path, content) in located.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        ipath, lpath = located[f"{split}_images"][0], located[f"{split}_labels"][0]
        if images.ndim != 3 or labels.ndim != 1:
            raise DataError(
                f"{ipath}, {lpath}: expected images of 3 dimensions and labels of 1, found "
                f"{images.ndim} and {labels.ndim}; are the files swapped?"
            )
        if len(images) != len(labels):
            raise DataError(
                f"{lpath}: label count {len(labels)} disagrees with {len(images)} images in "
                f"{ipath}; the two files come from different data sets: replace both"
            )
    checksums = {part: ds.file(part).sha256 for part in PARTS}
    return Data(
        name=ds.name,
        checksums=checksums,
        paths={part: path for part, (path, _) in located.items()},
        **arrays,
    )


def load_mnist(data_dir: str | os.PathLike | None = None, *, progress: bool = True) -> Data:
    """Load MNIST; see :func:`load_dataset`."""
    return load_dataset("mnist", data_dir, progress=progress)
