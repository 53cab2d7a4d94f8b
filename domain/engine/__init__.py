"""The execution kernel (``nb.py``), its record dtypes (``records.py``) and the runner (``run.py``)."""
