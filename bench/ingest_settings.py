"""Production settings plus the activity routes, in case sync/urls.py does not include them yet."""

from gocsm.settings import *  # noqa: F403

ROOT_URLCONF = "bench.ingest_urls"
