"""A/B tests of a challenger model version against the champion on live traffic.

- ``models``: the ``Experiment`` row (one running at a time, enforced by the database);
- ``assignment``: the sticky, hash-based choice of arm (no Django);
- ``statistics``: Wilson intervals, z-test, Mann-Whitney, sample size, verdicts (no Django);
- ``serving``: which model answers an upload, the challenger loaded lazily beside the champion;
- ``services`` (create, start, stop), ``selectors`` (results per arm), ``api`` (the DRF views).
"""
