"""A service process for test_serve_process.py: the fake reader, slow on big images.

Run as ``python tests/serve_slow_app.py PORT SLOW_S``: it serves exactly as
``digitrec serve`` does (:func:`digitrec.serve.lifecycle.run_server`, JSON
logs on stderr), with reads of images wider than 100 px taking ``SLOW_S``
seconds; the start-up read's 56 px image is instant.
"""

from __future__ import annotations

import sys
import time

from digitrec.serve import create_app
from digitrec.serve.lifecycle import run_server
from digitrec.serve.observe import configure_logging
from serve_helpers import FakeReader


class SlowReader(FakeReader):
    def __init__(self, slow_s: float) -> None:
        super().__init__()
        self.slow_s = slow_s

    def read(self, page, options):
        from digitrec.vision.io import load_image

        if load_image(page.image).size[0] > 100:
            time.sleep(self.slow_s)
        return super().read(page, options)


def main() -> None:
    port, slow_s = int(sys.argv[1]), float(sys.argv[2])
    app = create_app(reader=SlowReader(slow_s), request_timeout_s=30)
    configure_logging()
    run_server(app, host="127.0.0.1", port=port, drain_s=20)


if __name__ == "__main__":
    main()
