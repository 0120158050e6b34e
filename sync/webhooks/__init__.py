"""GHL webhooks: verify (signatures.py), parse and whitelist (events.py), apply in Celery."""
