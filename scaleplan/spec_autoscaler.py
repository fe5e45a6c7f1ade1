"""The spec's ``kubernetes.autoscaler`` section: which autoscaler render writes, its
settings, and how far above the plan's peak it may scale (:mod:`scaleplan.spec` re-exports)."""

# No `from __future__ import annotations`: pydantic compiles the fields' annotations.

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from scaleplan.problems import fix
from scaleplan.spec_base import OmittingModel as _Omitting
from scaleplan.spec_base import SpecModel as _Model


class HpaSettings(_Model):
    metric: Literal["cpu", "gpu", "rps"] = Field(
        default="rps",
        description=(
            "cpu: CPU utilization; gpu: DCGM GPU utilization (custom metric); rps: requests per "
            "second per pod (custom metric)."
        ),
    )
    target: float | None = Field(
        default=None, gt=0,
        description=(
            "Target per pod: utilization percent for cpu/gpu, requests/s for rps (default: the "
            "plan's capacity per replica over traffic.headroom, capacity / (1 + headroom))."
        ),
    )
    metric_name: str | None = Field(
        default=None,
        description=(
            "Custom metric name (default: DCGM_FI_DEV_GPU_UTIL for gpu, http_requests_per_second "
            "for rps)."
        ),
    )


class PrometheusSettings(_Model):
    server_address: str = Field(
        default="http://prometheus.monitoring.svc:9090",
        description=(
            "Prometheus URL KEDA queries."
        ),
    )
    query: str | None = Field(
        default=None,
        description=(
            "PromQL returning the service's total request rate; default: "
            "sum(rate(http_requests_total{service=...}[1m]))."
        ),
    )
    threshold: float | None = Field(
        default=None, gt=0,
        description=(
            "Per-replica target of the query value (default: capacity per replica over "
            "traffic.headroom; gated hours: the plan's demand per replica there, docs/render.md)."
        ),
    )


class KafkaSettings(_Model):
    bootstrap_servers: str = Field(description="Kafka bootstrap servers (host:port[,host:port]).")
    topic: str = Field(description="Topic the service consumes.")
    consumer_group: str = Field(description="Consumer group whose lag drives scaling.")
    lag_threshold: int | None = Field(
        default=None, ge=1,
        description=(
            "Target lag per replica (messages); default: capacity per replica x drain_seconds."
        ),
    )
    drain_seconds: float = Field(
        default=30, gt=0, le=86400,
        description=(
            "How long a backlog may take to drain: the lag threshold per replica is "
            "capacity_rps_per_replica x drain_seconds."
        ),
    )


class RabbitmqSettings(_Model):
    queue_name: str = Field(description="Queue whose length drives scaling.")
    host_from_env: str = Field(
        default="RABBITMQ_URL",
        description=(
            "Container env var holding the AMQP URL."
        ),
    )
    value: int | None = Field(
        default=None, ge=1,
        description=(
            "Target queue length per replica (messages); default: capacity per replica x "
            "drain_seconds."
        ),
    )
    drain_seconds: float = Field(
        default=30, gt=0, le=86400,
        description=(
            "How long a backlog may take to drain: the queue length per replica is "
            "capacity_rps_per_replica x drain_seconds."
        ),
    )


class Autoscaler(_Omitting):
    type: Literal["hpa", "keda-prometheus", "keda-kafka", "keda-rabbitmq", "none"] = Field(
        default="hpa",
        description=(
            "hpa: HorizontalPodAutoscaler; keda-*: a KEDA ScaledObject on Prometheus, Kafka lag or "
            "RabbitMQ queue length; none: fixed replicas."
        ),
    )
    hpa: HpaSettings = Field(default_factory=HpaSettings, description="Settings for type hpa.")
    prometheus: PrometheusSettings = Field(
        default_factory=PrometheusSettings,
        description=(
            "Settings for type keda-prometheus."
        ),
    )
    kafka: KafkaSettings | None = Field(
        default=None,
        description=(
            "Settings for type keda-kafka (required there)."
        ),
    )
    rabbitmq: RabbitmqSettings | None = Field(
        default=None,
        description=(
            "Settings for type keda-rabbitmq (required there)."
        ),
    )
    cron: bool = Field(
        default=False,
        description=(
            "KEDA only: add cron triggers that follow the plan's hourly replica counts."
        ),
    )
    scale_down_stabilization_s: int = Field(
        default=300, ge=0, le=3600,
        description=(
            "Seconds of lower demand before scaling in."
        ),
    )
    max_replicas_factor: float = Field(default=1.0, ge=1.0, le=10.0, description=(
        "Each autoscaled allocation's most replicas (maxReplicas / maxReplicaCount) as a "
        "multiple of its planned peak, rounded up, for spikes beyond the plan; the Karpenter "
        "NodePool limits follow. Not in the plan's cost: render says what a full burst costs. "
        "1: the planned peak."
    ))

    OMITTED: ClassVar[tuple[str, ...]] = ("max_replicas_factor",)  # see OMITTED_WHILE_DEFAULT

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        return {"type": v} if isinstance(v, str) else v

    @model_validator(mode="after")
    def _settings(self) -> "Autoscaler":
        if self.type == "keda-kafka" and self.kafka is None:
            raise ValueError(fix(
                "autoscaler type keda-kafka needs a 'kafka' section",
                "add kafka: {bootstrap_servers, topic, consumer_group}", at="type",
            ))
        if self.type == "keda-rabbitmq" and self.rabbitmq is None:
            raise ValueError(fix(
                "autoscaler type keda-rabbitmq needs a 'rabbitmq' section",
                "add rabbitmq: {queue_name}", at="type",
            ))
        if self.type == "none" and self.max_replicas_factor != 1.0:
            raise ValueError(fix(
                f"max_replicas_factor {self.max_replicas_factor:g} needs an autoscaler: type "
                "none fixes each Deployment at its planned peak",
                "remove max_replicas_factor, or choose an autoscaler type (hpa, keda-*)",
                at="max_replicas_factor",
            ))
        return self


def _autoscaler_schema(schema: dict[str, Any]) -> None:
    """Let editors accept the ``autoscaler: <type>`` shorthand that the model accepts."""
    ref = schema.pop("$ref", None) or (schema.pop("allOf", None) or [{}])[0].get("$ref")
    if ref:
        types = ["hpa", "keda-prometheus", "keda-kafka", "keda-rabbitmq", "none"]
        schema["anyOf"] = [{"$ref": ref}, {"type": "string", "enum": types}]
