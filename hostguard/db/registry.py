"""Imports every domain's table models so SQLModel.metadata (and Alembic) sees them all."""

from hostguard.accounts import models as _accounts  # noqa: F401
from hostguard.audit import models as _audit  # noqa: F401
from hostguard.cases import models as _cases  # noqa: F401
from hostguard.hashing import models as _hashing  # noqa: F401
from hostguard.integrations import models as _integrations  # noqa: F401
from hostguard.jobs import models as _jobs  # noqa: F401
from hostguard.ops import models as _ops  # noqa: F401
from hostguard.platform import models as _platform  # noqa: F401
from hostguard.uploads import models as _uploads  # noqa: F401
