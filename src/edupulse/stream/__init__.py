"""The processing runtime: micro-batches, operators, checkpoints and the outbox."""
