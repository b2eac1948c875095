"""Vector indexes of course passages: one protocol (``base``), one module per backend."""
