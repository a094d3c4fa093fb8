"""Evaluation: clip predictions, metrics, the protocol behind them, and reports with plots."""

from stasc.evaluation.metrics import clip_metrics, cross_validation_summary
from stasc.evaluation.predictions import Predictions, concat, read_predictions, write_predictions
from stasc.evaluation.report import format_table, write_report

__all__ = [
    "Predictions",
    "clip_metrics",
    "concat",
    "cross_validation_summary",
    "format_table",
    "read_predictions",
    "write_predictions",
    "write_report",
]
