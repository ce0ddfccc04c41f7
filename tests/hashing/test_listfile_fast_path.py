"""The vectorised list-file parser answers exactly like the line-by-line rules."""

from benchmarks.hashing.parsing import check_equivalence


def test_fast_path_equals_line_rules_on_random_mixed_files():
    # Random files mixing good lines with upper case, 0x, comments, notes, short, non-hex,
    # non-ASCII, all-zero, duplicates, CRLF and ThreatExchange labels, for pdq, md5 and phash.
    assert check_equivalence(60) == 3 * 2 * 60
