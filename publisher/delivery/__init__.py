"""Delivery: the ledger (``ledger``), frozen editions (``editions``), the batch send (``send``),
the service that ties them to the task queue (``service``), the Celery tasks (``tasks``) and the
global rate limit (``ratelimit``).

Words: a row is *sent* when the mail server accepted it (250 after DATA): submitted, which is not
the same as delivered to a mailbox. *failed* means the server refused it for good (5xx) or kept
answering 4xx past the retries; *skipped* means it was never handed over (the subscriber left).
"""
