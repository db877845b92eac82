"""Training telemetry: progress bar and meters, log.jsonl + TensorBoard sink, loss-curve plots."""

from vidssl.train.logging.metric_logger import MetricLogger, SmoothedValue
from vidssl.train.logging.sinks import RunLogger

__all__ = ["MetricLogger", "RunLogger", "SmoothedValue"]
