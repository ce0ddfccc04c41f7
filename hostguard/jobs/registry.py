"""Imports every domain's job handlers so a worker knows every job kind."""

import hostguard.platform.actions  # noqa: F401
from hostguard.cases import jobs as _cases  # noqa: F401
from hostguard.hashing import jobs as _hashing  # noqa: F401
from hostguard.integrations import jobs as _integrations  # noqa: F401
from hostguard.ops import jobs as _ops  # noqa: F401
from hostguard.uploads import jobs as _uploads  # noqa: F401
