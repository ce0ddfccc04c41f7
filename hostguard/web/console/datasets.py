"""Routes of the console surface for dataset scans: their progress, counts and matches."""

from __future__ import annotations

from flask import render_template

from hostguard.accounts.models import CASE_WORKERS
from hostguard.datasets import service as scans
from hostguard.web.access import db, staff_route
from hostguard.web.console import bp


@staff_route(bp, "/datasets", roles=CASE_WORKERS)
def dataset_scans():
    rows = scans.list_scans(session=db())
    running = any(scan.status in ("queued", "running") for scan in rows)
    return render_template("console/dataset_scans.html", scans=rows, refresh=running)


@staff_route(bp, "/datasets/<scan_id>", roles=CASE_WORKERS)
def dataset_scan_page(scan_id: str):
    scan = scans.get_scan(session=db(), scan_id=scan_id)
    return render_template(
        "console/dataset_scan.html",
        scan=scan,
        refresh=scan.status in ("queued", "running"),
        result=scan.result or {},
    )
