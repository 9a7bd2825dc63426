"""The one place that creates Powertools' Logger and Metrics, and the one that knows the tracer.

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME and
POWERTOOLS_METRICS_NAMESPACE, which the SAM template sets in Globals. TRACING (the template's
`Tracing` parameter) picks the tracer once, at import (docs/configuration.md#tracing):

- ``xray``: Powertools' Tracer, on the AWS X-Ray SDK, as before.
- ``otel``: the OpenTelemetry API. The ADOT Lambda layer provides it, sets up the SDK before
  this module is imported (AWS_LAMBDA_EXEC_WRAPPER=/opt/otel-instrument), traces the AWS SDK
  calls and exports to X-Ray through Lambda's OTLP endpoint.
- ``off``: no tracing SDK is imported at all.

The rest of the code sees only `tracer` (its `capture_lambda_handler` and `capture_method`),
`span(name, **annotations)` and `annotate(**annotations)`, the same whatever the mode: the same
subsegment or span names, and the same annotations (X-Ray annotations under ``xray``; span
attributes listed in ``aws.xray.annotations``, which X-Ray turns into annotations, under ``otel``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from aws_lambda_powertools import Logger, Metrics

from thumbnailer.settings import tracing_from_env

logger = Logger()
metrics = Metrics()

#: What an annotation may hold (X-Ray's annotation types); None values are left out.
Annotation = str | int | float | bool | None
F = TypeVar("F", bound=Callable[..., Any])

#: The span attribute whose list of keys X-Ray indexes as annotations (the rest is metadata).
XRAY_ANNOTATIONS_ATTRIBUTE = "aws.xray.annotations"


class Tracing(Protocol):
    """What the code may ask of the tracer, in every mode."""

    def capture_lambda_handler(self, handler: F) -> F: ...

    def capture_method(self, method: F) -> F: ...

    def span(self, name: str, **annotations: Annotation) -> Any: ...

    def annotate(self, **annotations: Annotation) -> None: ...


def _present(annotations: dict[str, Annotation]) -> dict[str, str | int | float | bool]:
    return {key: value for key, value in annotations.items() if value is not None}


def _handler_span_name(handler: Callable[..., Any]) -> str:
    return f"## {handler.__name__}"


def _method_span_name(method: Callable[..., Any]) -> str:
    # Powertools' own naming: `## <module>.<qualified name>`.
    return f"## {method.__module__}.{method.__qualname__}"


class XRayTracing:
    """Powertools' Tracer: the X-Ray SDK, patching only botocore (patching every library it
    knows would import sqlite3 and http.client for nothing: 20 to 30 ms of cold start)."""

    name = "xray"

    def __init__(self) -> None:
        from aws_lambda_powertools import Tracer

        self._tracer = Tracer(patch_modules=("botocore",))

    def capture_lambda_handler(self, handler: F) -> F:
        return self._tracer.capture_lambda_handler(handler)

    def capture_method(self, method: F) -> F:
        return self._tracer.capture_method(method)

    @contextmanager
    def span(self, name: str, **annotations: Annotation) -> Iterator[None]:
        # The subsegment records an exception that leaves it, as capture_method's does.
        with self._tracer.provider.in_subsegment(name=name) as subsegment:
            for key, value in _present(annotations).items():
                subsegment.put_annotation(key=key, value=value)
            yield

    def annotate(self, **annotations: Annotation) -> None:
        for key, value in _present(annotations).items():
            self._tracer.put_annotation(key=key, value=value)


class OpenTelemetryTracing:
    """The OpenTelemetry API, with Powertools' span names and annotations.

    Only the API is used: the SDK, its exporter and the botocore instrumentation are the
    layer's, configured before the handler module is imported. Without them (no layer) every
    span is a no-op.
    """

    name = "otel"

    def __init__(self, service: str) -> None:
        from opentelemetry import trace

        self._trace = trace
        self._tracer = trace.get_tracer("thumbnailer")
        self._service = service
        self._cold_start = True

    def capture_lambda_handler(self, handler: F) -> F:
        name = _handler_span_name(handler)

        @functools.wraps(handler)
        def traced(event: Any, context: Any, **kwargs: Any) -> Any:
            cold_start, self._cold_start = self._cold_start, False
            with self.span(name, ColdStart=cold_start, Service=self._service or None):
                return handler(event, context, **kwargs)

        return traced  # type: ignore[return-value]

    def capture_method(self, method: F) -> F:
        name = _method_span_name(method)

        @functools.wraps(method)
        def traced(*args: Any, **kwargs: Any) -> Any:
            with self.span(name):
                return method(*args, **kwargs)

        return traced  # type: ignore[return-value]

    @contextmanager
    def span(self, name: str, **annotations: Annotation) -> Iterator[None]:
        # An exception that leaves the span is recorded on it and sets its status to ERROR.
        with self._tracer.start_as_current_span(name) as current:
            self._set(current, _present(annotations))
            yield

    def annotate(self, **annotations: Annotation) -> None:
        self._set(self._trace.get_current_span(), _present(annotations))

    @staticmethod
    def _set(span: Any, attributes: dict[str, str | int | float | bool]) -> None:
        if not attributes or not span.is_recording():
            return
        # The SDK's span shows its attributes; X-Ray indexes those listed here as annotations.
        already = (getattr(span, "attributes", None) or {}).get(XRAY_ANNOTATIONS_ATTRIBUTE, ())
        span.set_attributes(
            {**attributes, XRAY_ANNOTATIONS_ATTRIBUTE: sorted({*already, *attributes})}
        )


class NoTracing:
    """TRACING=off: nothing is recorded and no tracing SDK is imported."""

    name = "off"

    def capture_lambda_handler(self, handler: F) -> F:
        return handler

    def capture_method(self, method: F) -> F:
        return method

    @contextmanager
    def span(self, name: str, **annotations: Annotation) -> Iterator[None]:
        yield

    def annotate(self, **annotations: Annotation) -> None:
        return None


def tracing_for(mode: str) -> Tracing:
    """The tracer for a TRACING value (`settings.TRACING_MODES`)."""
    if mode == "xray":
        return XRayTracing()
    if mode == "otel":
        try:
            return OpenTelemetryTracing(service=logger.service)
        except ImportError as exc:
            raise ImportError(
                "TRACING=otel needs the OpenTelemetry API, which the ADOT Lambda layer provides: "
                "deploy with Tracing=otel (the template adds the layer), see "
                "docs/configuration.md#tracing"
            ) from exc
    return NoTracing()


tracer: Tracing = tracing_for(tracing_from_env())
span = tracer.span
annotate = tracer.annotate
