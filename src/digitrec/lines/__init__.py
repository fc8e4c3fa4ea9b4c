"""Reading one line of handwriting: numbers with separators, words skipped.

The public entry point is :func:`digitrec.lines.read.read_line`; see docs/lines.md.
"""
