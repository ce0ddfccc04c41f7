"""Concurrent writers append to one unbroken chain, from the very first record on."""

import threading

from hostguard.audit.service import record, verify


def test_concurrent_appends_from_an_empty_chain_keep_one_unbroken_chain(runtime):
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def append(writer: int) -> None:
        try:
            start.wait()
            for i in range(8):
                with runtime.session() as session:
                    record(session, actor="system", action="test.append", subject=f"w{writer}:{i}")
        except BaseException as exc:  # surfaced below, in the test's own thread
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    with runtime.session() as session:
        result = verify(session)
    assert result.ok, result.problem
    assert result.checked == 32
