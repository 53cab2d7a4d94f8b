"""The kinds of job, one module each (``tasks.jobs.registry`` imports them all)."""
