"""Tasks on the shared engine, one folder each: ``plan`` (jobs and their keys), ``run`` (the job function),
``outputs`` (tables and figures), and an ``__init__`` exposing ``TASK`` and ``run(cfg, out, ...)``."""
