#!/usr/bin/env bash
# `manage.py check --deploy` with a production-shaped environment must report nothing.
set -euo pipefail
env -i PATH="$PATH" HOME="${HOME:-/root}" \
  SECRET_KEY="$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
  DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/gocsm_ci}" \
  REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/15}" \
  ALLOWED_HOSTS="gocsm.example.com" \
  CSRF_TRUSTED_ORIGINS="https://gocsm.example.com" \
  PUBLIC_ORIGIN="https://gocsm.example.com" \
  TOKEN_ENCRYPTION_KEYS="$(.venv/bin/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
  .venv/bin/python manage.py check --deploy --fail-level WARNING
