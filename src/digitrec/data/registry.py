"""The data sets digitrec knows: file names, content checksums and mirrors.

Checksums are the sha256 of the *decompressed* IDX bytes, so a re-compressed
copy of a file is as valid as the canonical download. The md5 of each canonical
``.gz`` is kept for reference (it identifies the original download), but content
decides.

Sources: ``shared/datasets/README.md`` of this project for MNIST; the
Fashion-MNIST content hashes were computed from Debian's
``dataset-fashion-mnist`` package, and its ``.gz`` md5s are the ones its
authors publish.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DATASETS", "PARTS", "DataFile", "Dataset", "get_dataset"]

PARTS = ("train_images", "train_labels", "test_images", "test_labels")


@dataclass(frozen=True)
class DataFile:
    """One IDX file of a data set."""

    name: str
    sha256: str
    gz_md5: str
    shape: tuple[int, ...]

    @property
    def stem(self) -> str:
        """The file name without ``.gz``."""
        return self.name.removesuffix(".gz")


@dataclass(frozen=True)
class Dataset:
    """A four-file IDX data set with its ordered download mirrors."""

    name: str
    files: dict[str, DataFile]
    mirrors: tuple[str, ...]
    classes: tuple[str, ...]
    citation: str

    def file(self, part: str) -> DataFile:
        """The file for ``part``, one of :data:`PARTS`."""
        return self.files[part]


DATASETS: dict[str, Dataset] = {
    "mnist": Dataset(
        name="mnist",
        files={
            "train_images": DataFile(
                "train-images-idx3-ubyte.gz",
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                (60000, 28, 28),
            ),
            "train_labels": DataFile(
                "train-labels-idx1-ubyte.gz",
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                "d53e105ee54ea40749a09fcbcd1e9432",
                (60000,),
            ),
            "test_images": DataFile(
                "t10k-images-idx3-ubyte.gz",
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                "9fb629c4189551a2d022fa330f9573f3",
                (10000, 28, 28),
            ),
            "test_labels": DataFile(
                "t10k-labels-idx1-ubyte.gz",
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
                "ec29112dd5afa0611ce80d1b7f02629c",
                (10000,),
            ),
        },
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        classes=tuple(str(d) for d in range(10)),
        citation="Y. LeCun, C. Cortes, C. J. C. Burges, The MNIST database (CC BY-SA 3.0)",
    ),
    "fashion-mnist": Dataset(
        name="fashion-mnist",
        files={
            "train_images": DataFile(
                "train-images-idx3-ubyte.gz",
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                (60000, 28, 28),
            ),
            "train_labels": DataFile(
                "train-labels-idx1-ubyte.gz",
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                "25c81989df183df01b3e8a0aad5dffbe",
                (60000,),
            ),
            "test_images": DataFile(
                "t10k-images-idx3-ubyte.gz",
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                "bef4ecab320f06d8554ea6380940ec79",
                (10000, 28, 28),
            ),
            "test_labels": DataFile(
                "t10k-labels-idx1-ubyte.gz",
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
                "bb300cfdad3c16e7a12a480ee83cd310",
                (10000,),
            ),
        },
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        classes=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        citation="H. Xiao, K. Rasul, R. Vollgraf, Fashion-MNIST (MIT licence)",
    ),
}


def get_dataset(name: str) -> Dataset:
    """Look up a registered data set by name.

    Raises
    ------
    InputError
        If ``name`` is not registered.
    """
    from digitrec.errors import InputError

    try:
        return DATASETS[name]
    except KeyError:
        raise InputError(
            f"unknown data set {name!r}: expected one of {', '.join(sorted(DATASETS))}"
        ) from None
