"""Whole pages and documents: find every line of writing, read each, one result per page.

* :mod:`digitrec.pages.layout`: lines of writing on a page, in reading order.
* :mod:`digitrec.pages.documents`: the pages of an image, a multi-page TIFF or a PDF.
* :mod:`digitrec.pages.read`: :func:`read_page` and :func:`read_document`.
* :mod:`digitrec.pages.result`: the one output shape (:class:`PageResult`).
* :mod:`digitrec.pages.overlay`: the boxes and readings drawn on the page.
"""
