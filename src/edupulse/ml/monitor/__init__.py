"""Monitoring the served models: drift against the training reference, and quality as outcomes arrive."""

from edupulse.ml.monitor.check import ALERT_RULE, Figure, MonitorReport, monitor, raise_alert
from edupulse.ml.monitor.drift import ValueReference, ks_statistic, psi, reference_of
from edupulse.ml.monitor.reference import DayReference, ModelReference, day_reference, load_reference, save_reference

__all__ = [
    "ALERT_RULE",
    "DayReference",
    "Figure",
    "ModelReference",
    "MonitorReport",
    "ValueReference",
    "day_reference",
    "ks_statistic",
    "load_reference",
    "monitor",
    "psi",
    "raise_alert",
    "reference_of",
    "save_reference",
]
