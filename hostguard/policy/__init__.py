"""The operator's policy: one parsed file that every rule hostguard applies is read from.

`runtime.policy` is the policy in force; domain functions that apply a rule take it as an
argument (`policy=`), so a test or a sandbox can hand in another one.
"""

from hostguard.policy.load import (
    DEFAULT_POLICY_PATH,
    PolicyError,
    load_policy,
    parse_policy,
    policy_in_force,
)
from hostguard.policy.model import (
    VISIBILITIES,
    Category,
    KyuLevel,
    ListAction,
    MatchAction,
    Policy,
    Statement,
    StatementField,
)

__all__ = [
    "DEFAULT_POLICY_PATH",
    "VISIBILITIES",
    "Category",
    "KyuLevel",
    "ListAction",
    "MatchAction",
    "Policy",
    "PolicyError",
    "Statement",
    "StatementField",
    "load_policy",
    "parse_policy",
    "policy_in_force",
]
