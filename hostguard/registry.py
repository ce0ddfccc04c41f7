"""Everything hostguard is made of: imports every models module, every jobs module and the actioners.

Importing it is how a process sees them all: `SQLModel.metadata` every table (Alembic, key
rotation), the worker every job kind and periodic task, `platform.actions.get_actioner` every
actioner (signed webhook, Hugging Face Hub; log-only is its own). It sits above every layer:
only what starts a process imports it (the web app, the worker, the migrations, the CLI
commands that need every table, the tests).
"""

from hostguard.accounts import models as _accounts_models  # noqa: F401
from hostguard.audit import models as _audit_models  # noqa: F401
from hostguard.cases import jobs as _cases_jobs  # noqa: F401
from hostguard.cases import models as _cases_models  # noqa: F401
from hostguard.cases import rollup as _cases_rollup  # noqa: F401
from hostguard.cases.statements import submission as _tdb_submission  # noqa: F401
from hostguard.datasets import models as _datasets_models  # noqa: F401
from hostguard.exchanges import jobs as _exchanges_jobs  # noqa: F401
from hostguard.exchanges import models as _exchanges_models  # noqa: F401
from hostguard.hashing import models as _hashing_models  # noqa: F401
from hostguard.integrations import actioners as _actioners  # noqa: F401
from hostguard.integrations import models as _integrations_models  # noqa: F401
from hostguard.jobs import models as _jobs_models  # noqa: F401
from hostguard.platform import actions as _platform_actions  # noqa: F401
from hostguard.platform import models as _platform_models  # noqa: F401
from hostguard.platform import webhooks as _platform_webhooks  # noqa: F401
from hostguard.uploads import jobs as _uploads_jobs  # noqa: F401
from hostguard.uploads import models as _uploads_models  # noqa: F401
from hostguard.workflows import dataset_scan as _dataset_scan_workflow  # noqa: F401
from hostguard.workflows import decision_events as _decision_events_workflow  # noqa: F401
from hostguard.workflows import hub as _hub_workflow  # noqa: F401
from hostguard.workflows import list_matching as _list_matching_workflow  # noqa: F401
from hostguard.workflows import retention as _retention_workflow  # noqa: F401
