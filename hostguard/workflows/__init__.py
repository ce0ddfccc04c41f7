"""What happens across domains: the layer that composes cases, uploads, hashing and integrations.

Domains below return facts (matches, reasons, the decision made); a workflow decides what
follows (an upload check that opens a case, a decision that banks hashes, a list change that
re-matches, a Hub webhook that queues a check). Surfaces (web, CLI, jobs) call workflows or
domain functions; domains never import this package.
"""
