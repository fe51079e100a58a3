"""``trashscan ui``: a local web gallery of every trashed photo and video, with "Restore selected".

One concept per module:

* :mod:`~trashscan.ui.server`: binds 127.0.0.1, prints the login address, runs uvicorn.
* :mod:`~trashscan.ui.guards`: the security model (Host allowlist, one-time token → cookie,
  cross-origin and CSRF checks on writes, security headers), one ASGI middleware.
* :mod:`~trashscan.ui.app`: the Starlette application: routes, Jinja2 (autoescape on).
* :mod:`~trashscan.ui.views`: the handlers.
* :mod:`~trashscan.ui.gallery`: tiles, urgency groups, filters, paging, copies (the CLI's words).
* :mod:`~trashscan.ui.restoring`: "Restore selected" through the CLI's restore code path.

Stable hooks for tests and scripts (kept across changes; the browser test relies on them):

* ``#grid``: the tiles; each tile ``div.tile#tile-<ref>`` with ``data-ref`` (the full ref),
  ``data-group`` (``overdue``/``day``/``week``/``month``/``later``/``never``) and
  ``data-account``; its picture ``img.thumb``; its checkbox ``input.pick#pick-<ref>``
  (``name="ref"``, ``value`` the full ref), inside ``form#selection``.
* ``h2.group-head#group-<key>`` with ``button.select-group[data-group]`` ("select this group",
  shown when JavaScript runs); ``#selected-count``; ``#select-none``.
* ``#restore-selected``: "Restore selected…" (POST /restore/plan); the plan (dry run) appears in
  ``#panel`` as ``section#plan`` (``#plan-items`` rows with ``data-ref``, notes ``tr.note``,
  ``#plan-left``), with ``#confirm-restore`` and ``#cancel-restore``.
* ``section#results`` (``data-finished="true"`` once done): ``li.result`` with ``data-ref`` and
  ``data-outcome``, ``#restore-progress`` while running, ``#restore-summary`` at the end;
  restored tiles are removed from ``#grid``.
* ``#more``: loads the next page when scrolled into view (``#more-link`` without JavaScript).
* ``form#filters`` (``#filter-account``, ``#filter-provider``, ``#filter-kind``,
  ``#filter-urgency``, ``#filter-name``, ``#filter-deleted-since``, ``#filter-deleted-until``,
  ``#filter-within``, ``#apply-filters``); ``#totals``; ``#error``.
* ``/item/<ref>``: ``article#item`` with ``#preview``, ``#path``, ``#dates``, ``#history``,
  ``#copies``.
"""
