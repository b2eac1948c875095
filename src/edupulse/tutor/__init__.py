"""The AI tutor: course content in, passages for a learner's weak skills out.

Content is read (``documents``), cut along its structure (``chunking``), tagged with
skills (``skills``), embedded locally (``embedder``) and stored in a vector index
(``index``). ``retrieve`` picks passages for a learner from the live mastery view;
``answer`` optionally asks an OpenAI-compatible endpoint to answer from them.
"""
