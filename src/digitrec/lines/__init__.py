"""Reading one line of handwriting: numbers with separators, words skipped.

>>> from digitrec.lines import read_line
>>> read_line("total.png").text  # doctest: +SKIP
'12.50'

See docs/lines.md for the readers, the model, its training and its figures.
"""

from digitrec.lines.read import DEFAULT_READER, READERS, CharResult, LineResult, read_line

__all__ = ["DEFAULT_READER", "READERS", "CharResult", "LineResult", "read_line"]
