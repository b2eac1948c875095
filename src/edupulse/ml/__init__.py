"""Models trained from history and evaluated offline: knowledge tracing (BKT, Elo)."""
