"""The accelerator and instance tables that render and check take, for the tests: the shipped
catalogs (:func:`scaleplan.inputs.load_tables`), read once per test session. Test functions
take them as the ``tables`` fixture (conftest.py); module helpers call :func:`shipped_tables`."""

from __future__ import annotations

import functools

from scaleplan.catalog.model import Catalog


@functools.cache
def shipped_tables() -> Catalog:
    from scaleplan.inputs import load_tables

    return load_tables()
