"""Kafka's and PostgreSQL's errors, as edupulse's: transient ones are retried, the rest reported.

Messages say what was being done and how to fix it (start the service, fix the setting);
PostgreSQL's errors are translated as every store translates them (``edupulse.postgres``).
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from confluent_kafka import KafkaError, KafkaException
from psycopg_pool import PoolTimeout

from edupulse.errors import NotFoundError, TerminalError, TransientError
from edupulse.postgres import translate

__all__ = ["retriable", "translated"]

# Codes a new topic, or a broker that has just restarted, returns for a moment, until its
# leaders and epochs are known everywhere.
_SETTLING = {
    KafkaError.UNKNOWN_LEADER_EPOCH,
    KafkaError.FENCED_LEADER_EPOCH,
    KafkaError.OFFSET_NOT_AVAILABLE,
    KafkaError.STALE_BROKER_EPOCH,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.NOT_COORDINATOR,
    KafkaError._UNKNOWN_PARTITION,  # the client's metadata of a partition, gone while the broker restarts
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
}
_TRANSIENT = {
    KafkaError._TRANSPORT,
    KafkaError._ALL_BROKERS_DOWN,
    KafkaError._TIMED_OUT,
    KafkaError._MSG_TIMED_OUT,
    KafkaError.REQUEST_TIMED_OUT,
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.NOT_ENOUGH_REPLICAS,
    KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    *(_SETTLING - {KafkaError.UNKNOWN_TOPIC_OR_PART}),
}


def _error(exc: KafkaException) -> KafkaError | None:
    return exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None


def retriable(exc: KafkaException) -> bool:
    """True if the same request may succeed in a moment (a new topic settling, a leader moving)."""
    err = _error(exc)
    return err is not None and (err.retriable() or err.code() in _SETTLING)


def _from_kafka(exc: KafkaException, servers: str, doing: str) -> Exception:
    err = _error(exc)
    code = err.code() if err is not None else None
    reason = err.str() if err is not None else str(exc)
    if code == KafkaError.UNKNOWN_TOPIC_OR_PART:
        return NotFoundError(f"topic not found while trying to {doing}: {reason}")
    message = f"Kafka at {servers} could not {doing}: {reason}"
    if code in _TRANSIENT or (err is not None and err.retriable()):
        return TransientError(
            f"{message}; is it running? (scripts/services/kafka.sh up, "
            "or point EDUPULSE_KAFKA__BOOTSTRAP_SERVERS at a running broker)"
        )
    return TerminalError(message)


@contextmanager
def translated(servers: str, dsn: str, doing: str) -> Iterator[None]:
    """Raise library errors of the block as edupulse errors saying what was being done."""
    try:
        yield
    except KafkaException as exc:
        raise _from_kafka(exc, servers, doing) from exc
    except (psycopg.Error, PoolTimeout) as exc:
        raise translate(exc, doing, dsn) from exc
    except concurrent.futures.TimeoutError as exc:
        raise TransientError(f"Kafka at {servers} did not answer in time to {doing}") from exc
