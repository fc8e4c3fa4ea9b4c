"""A compact CNN: PyTorch for training and export, onnxruntime for inference.

Importing this package does not import torch; :class:`CnnModel` (inference)
needs only onnxruntime and numpy. Training lives in :mod:`.train` and
:mod:`.pipeline`, export in :mod:`.export` (those need the ``train`` extra).
"""

from digitrec.models.cnn.infer import DEFAULT_MODEL_DIR, CnnModel

__all__ = ["DEFAULT_MODEL_DIR", "CnnModel"]
