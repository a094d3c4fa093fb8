"""Evaluation: clip predictions, metrics, ensemble votes, and reports with plots."""

from stasc.evaluation.metrics import clip_metrics, cross_validation_summary
from stasc.evaluation.predictions import Predictions, concat, read_predictions, write_predictions
from stasc.evaluation.report import format_table, write_report
from stasc.evaluation.votes import majority_vote, soft_vote

__all__ = [
    "Predictions",
    "clip_metrics",
    "concat",
    "cross_validation_summary",
    "format_table",
    "majority_vote",
    "read_predictions",
    "soft_vote",
    "write_predictions",
    "write_report",
]
