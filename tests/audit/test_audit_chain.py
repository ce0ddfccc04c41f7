"""The audit trail is append-only in practice: editing or deleting a row is detected."""

import pytest
from sqlalchemy import text

from hostguard.audit.service import record, verify


def _write(runtime, n=5):
    with runtime.session() as session:
        for i in range(n):
            record(
                session,
                actor="user:1",
                action="case.claim",
                subject=f"case:{i}",
                reason=f"r{i}",
                details={"n": i},
            )


def test_intact_chain_verifies(cli, runtime):
    _write(runtime)
    result = cli("audit", "verify")
    assert result.exit_code == 0
    assert "5 records" in result.output


@pytest.mark.parametrize(
    "tamper,bad_seq",
    [
        ("UPDATE audit_records SET reason='nothing to see' WHERE seq=3", 3),
        ("UPDATE audit_records SET actor='user:2' WHERE seq=1", 1),
        ("DELETE FROM audit_records WHERE seq=2", 2),
        ("DELETE FROM audit_records WHERE seq=5", 5),
    ],
)
def test_tampering_is_detected_and_named(cli, runtime, tamper, bad_seq):
    _write(runtime)
    with runtime.engine.begin() as conn:
        conn.execute(text(tamper))
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert f"seq {bad_seq}" in result.stderr


def test_rewriting_a_row_and_its_hash_breaks_the_next_link(runtime):
    _write(runtime)
    with runtime.engine.begin() as conn:
        conn.execute(text("UPDATE audit_records SET hash='" + "a" * 64 + "' WHERE seq=2"))
    with runtime.session() as session:
        result = verify(session)
    assert not result.ok and result.first_bad_seq == 2


def test_rolled_back_change_leaves_no_record(runtime):
    with pytest.raises(RuntimeError):
        with runtime.session() as session:
            record(session, actor="user:1", action="case.decide", subject="case:1")
            raise RuntimeError("decision failed")
    with runtime.session() as session:
        result = verify(session)
    assert result.ok and result.checked == 0


def test_records_carry_request_id(client, runtime, cli):
    client.get("/healthz", headers={"X-Request-ID": "req-12345678"})
    from hostguard.context import set_request_id

    set_request_id("job-abcdef12")
    _write(runtime, 1)
    with runtime.engine.connect() as conn:
        assert conn.execute(text("SELECT request_id FROM audit_records")).scalar() == "job-abcdef12"


def test_anchored_head_detects_a_wholesale_rewrite(cli, runtime):
    _write(runtime, 3)
    first = cli("audit", "verify")
    head = first.output.strip().rsplit("head ", 1)[1]
    assert len(head) == 64
    assert cli("audit", "verify", "--anchor", head).exit_code == 0
    # someone deletes everything and writes a fresh, internally consistent chain
    with runtime.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_records"))
        conn.execute(text("DELETE FROM audit_head"))
    _write(runtime, 2)
    assert cli("audit", "verify").exit_code == 0  # the chain alone cannot tell
    result = cli("audit", "verify", "--anchor", head)
    assert result.exit_code == 1
    assert "no longer in the chain" in result.stderr
