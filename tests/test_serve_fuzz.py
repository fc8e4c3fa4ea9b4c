"""Schema-driven fuzzing of the whole service (real reader) from /openapi.json.

Schemathesis generates requests from the OpenAPI document (random bodies for
every declared content type, odd query values) and sends them in-process over
ASGI. Whatever it sends, the service must never answer 5xx, and every answer
must match the documented status codes, content types and response schemas.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from digitrec.serve import create_app


class _DocumentOnly:
    """Enough of a reader to build the app for its OpenAPI document, which does not
    depend on the reader; every request of the fuzz run goes to the real service."""

    def info(self):
        return {"name": "-", "accuracy": None, "checksum": "-"}

    def read(self, data, **options):
        raise AssertionError("the fuzz run must use the real reader")


class _RealService:
    """The real service (default model), created on the first request.

    Created lazily so that collecting this module loads no model.
    """

    def __init__(self) -> None:
        self.app = None

    async def __call__(self, scope, receive, send) -> None:
        if self.app is None:
            self.app = create_app()
        await self.app(scope, receive, send)


schema = schemathesis.openapi.from_dict(create_app(reader=_DocumentOnly()).openapi())
schema.app = _RealService()


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same examples every run: a failure here is reproducible
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_no_server_errors(case) -> None:
    case.call_and_validate(
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ]
    )
