"""Observe a running service in Prometheus and learn what it really does (docs/observe.md).

``queries`` builds the PromQL from a plan, ``client``/``fetch`` run it, ``analyze`` turns the
series into an :class:`Observed` file, ``calibrate`` feeds that back into ``optimize``.
"""

from scaleplan.observe.model import Observed, dump_observed, observed_json_schema, read_observed

__all__ = ["Observed", "dump_observed", "observed_json_schema", "read_observed"]
