"""`hostguard demo` across domains: the demo hash list the child-safety demo case cites, then the
demo cases (`hostguard.cases.demo`).

The list holds the PDQ hash of one benign demo picture (drawn from a seed, never stored), so
the case's hash match is a real one against a list that exists, and the console's rule that a
matched image is never shown can be seen next to the blurred samples that are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session, select

from hostguard.cases import demo as cases_demo
from hostguard.hashing.models import HashList
from hostguard.hashing.service import hash_images, import_list

if TYPE_CHECKING:
    from hostguard.runtime import Runtime


def seed_demo(session: Session, runtime: Runtime, *, actor: str) -> None:
    """Import the demo hash list (once) and add the demo cases (idempotent)."""
    (hashed,) = hash_images(
        runtime=runtime,
        images=[("demo-sample.png", cases_demo.demo_image(cases_demo.MATCHED_SEED))],
    )
    pdq = hashed.primary("pdq")
    assert pdq is not None  # a 256-pixel picture always has a PDQ hash
    if session.exec(select(HashList).where(HashList.name == cases_demo.DEMO_LIST)).first() is None:
        import_list(
            session=session,
            actor=actor,
            name=cases_demo.DEMO_LIST,
            data=pdq.hash + "\n",
            algorithm="pdq",
            category="child_sexual_abuse",
            action="block",
            source="hostguard demo: the hash of a benign generated test picture",
        )
    cases_demo.seed(
        session,
        runtime,
        match=cases_demo.DemoMatch(list_name=cases_demo.DEMO_LIST, algorithm="pdq", distance=0),
    )
