"""Tokens for one agency: read, refresh under a lock, and location tokens from a short cache.

GHL rotates refresh tokens (single use), so two workers refreshing at once would kill the install.
One refresher per agency at a time: a Redis lock serialises workers on every machine, and a row
lock (select_for_update) on the Installation stands behind it. The new pair is committed before it
is used; a worker that waited on the lock sees the new pair and uses it instead of refreshing again.
invalid_grant marks the agency needs_reauth, records audit events and raises AuthRevoked, once.

Location tokens are minted on the agency's own rate budget, which every sub-account of the agency
shares, so each mint is precious: one mint per sub-account at a time (a short lock per
sub-account), the result cached encrypted until shortly before it expires, under a per-agency key
so a purge finds it.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone as dj_tz

from accounts import audit
from accounts.models import Agency
from gocsm import metrics
from gocsm.agencykeys import agency_cache_key
from sync import journal, tokens
from sync.ghl import oauth
from sync.ghl.errors import AuthRevoked
from sync.locks import LockTimeout, agency_lock, named_lock
from sync.models import Installation

logger = logging.getLogger(__name__)


def _location_cache_key(agency_id: int, location_id: str) -> str:
    return agency_cache_key(agency_id, "loctoken", location_id)


class AgencyTokens:
    """The TokenSource of sync.ghl.client.GHLClient for one installed agency."""

    def __init__(self, agency: Agency):
        self.agency_id = agency.pk
        self.company_id = agency.company_id

    # --- agency token -------------------------------------------------------------------------
    def _installation(self) -> Installation:
        inst = (
            Installation.objects.select_related("agency").filter(agency_id=self.agency_id).first()
        )
        if inst is None or not inst.has_tokens or not inst.agency.is_installed:
            raise AuthRevoked("agency has no usable GHL grant")
        if inst.agency.needs_reauth:
            raise AuthRevoked("agency needs to re-authorise GoCSM")
        return inst

    def company_token(self) -> str:
        inst = self._installation()
        margin = timedelta(seconds=settings.GHL_TOKEN_REFRESH_MARGIN_SECONDS)
        if inst.access_expires_at is None or inst.access_expires_at - margin <= dj_tz.now():
            return self.refresh_company_token(rejected=None)
        return tokens.decrypt(inst.access_token)

    def refresh_company_token(self, rejected: str | None) -> str:
        """Refresh once for everyone. `rejected` is the token GHL just answered 401 to (None when
        refreshing ahead of expiry); if the stored token already differs, another worker has
        refreshed and its token is returned without calling GHL.

        GHL's answer is journalled (journal.py) before the database is touched, and every
        refresher first stores a journalled pair that a dead refresher left behind, so a worker
        killed between GHL's answer and the commit costs nothing: its pair is used by the next."""
        with agency_lock(
            "ghl-refresh",
            self.agency_id,
            timeout=settings.GHL_REFRESH_LOCK_SECONDS,
            wait=settings.GHL_REFRESH_LOCK_SECONDS + 5,
        ):
            failure: AuthRevoked | None = None
            with transaction.atomic():
                inst = (
                    Installation.objects.select_for_update()
                    .select_related("agency")
                    .filter(agency_id=self.agency_id)
                    .first()
                )
                if inst is None or not inst.has_tokens or inst.agency.needs_reauth:
                    raise AuthRevoked("agency has no usable GHL grant")
                self._recover_journalled(inst)
                current = tokens.decrypt(inst.access_token)
                margin = timedelta(seconds=settings.GHL_TOKEN_REFRESH_MARGIN_SECONDS)
                fresh = inst.access_expires_at and inst.access_expires_at - margin > dj_tz.now()
                if (rejected is not None and current != rejected) or (rejected is None and fresh):
                    return current
                try:
                    grant = oauth.refresh(tokens.decrypt(inst.refresh_token), inst.user_type)
                except oauth.InvalidGrant as exc:
                    metrics.TOKEN_REFRESH_FAILURES.labels(reason="invalid_grant").inc()
                    self._mark_revoked(inst)
                    failure = exc
                else:
                    # The old refresh token is dead from here on: the new pair is written
                    # somewhere that survives this process before anything else happens.
                    journal.write(self.agency_id, grant)
                    inst.store_grant(grant)
                    inst.save()
                    logger.info("ghl token refreshed agency=%s", self.agency_id)
            if failure is not None:
                raise AuthRevoked("GHL refused the refresh token (invalid_grant)") from None
            journal.clear(self.agency_id, grant.refresh_token)
            return grant.access_token

    def _recover_journalled(self, inst: Installation) -> None:
        """Inside the refresh transaction: store a pair GHL issued to a refresher that died
        before its commit (its refresh token is the only live one)."""
        grant = journal.read(self.agency_id)
        if grant is None:
            return
        if tokens.decrypt(inst.refresh_token) != grant.refresh_token:
            inst.store_grant(grant)
            inst.save()
            audit.record(
                "token.recovered",
                agency=inst.agency,
                target=inst.company_id,
                detail={"reason": "journalled pair of an interrupted refresh"},
            )
            logger.warning("ghl token pair recovered from the journal agency=%s", self.agency_id)
        transaction.on_commit(lambda: journal.clear(self.agency_id, grant.refresh_token))

    def reject_fresh_token(self, rejected: str) -> None:
        """GHL refused a token minted moments ago (401 after a refresh): the grant no longer
        works for us (scopes withdrawn, app disabled). Mark the agency for re-authorisation,
        once: pulls stop asking, instead of spending a refresh on every run."""
        with transaction.atomic():
            marked = (
                Agency.objects.filter(pk=self.agency_id, needs_reauth=False)
                .select_for_update()
                .update(needs_reauth=True)
            )
            if not marked:
                return
            agency = Agency.objects.get(pk=self.agency_id)
            metrics.TOKEN_REFRESH_FAILURES.labels(reason="rejected_after_refresh").inc()
            audit.record(
                "token.refresh_failed",
                agency=agency,
                outcome="failure",
                target=agency.company_id,
                detail={"reason": "401_after_refresh"},
            )
            audit.record("reauth_needed", agency=agency, target=agency.company_id)
        self.forget_location_tokens()
        logger.warning("ghl refused a fresh token agency=%s: needs reauth", self.agency_id)

    def _mark_revoked(self, inst: Installation) -> None:
        """Inside the refresh transaction: keep the grant's history, stop pulls, tell people."""
        Agency.objects.filter(pk=self.agency_id).update(needs_reauth=True)
        inst.wipe_tokens()
        inst.save()
        agency = inst.agency
        audit.record(
            "token.refresh_failed",
            agency=agency,
            outcome="failure",
            target=agency.company_id,
            detail={"reason": "invalid_grant"},
        )
        audit.record("reauth_needed", agency=agency, target=agency.company_id)
        self.forget_location_tokens()
        logger.warning("ghl refresh refused agency=%s: needs re-authorisation", self.agency_id)

    # --- location tokens ----------------------------------------------------------------------
    def location_token(self, location_id: str, client) -> str:
        token = self._cached_location_token(location_id)
        if token:
            return token
        self._installation()
        # A mint takes at most one call deadline; past that the holder is gone or stuck, and
        # minting a second token beats stalling the sub-account.
        with contextlib.ExitStack() as held:
            try:
                held.enter_context(
                    self._mint_lock(location_id, wait=settings.GHL_CALL_DEADLINE_SECONDS)
                )
            except LockTimeout:
                return self._mint(location_id, client)
            return self._cached_location_token(location_id) or self._mint(location_id, client)

    def prime_location_token(self, location_id: str, client) -> bool:
        """Mint and cache the token ahead of need. False (no call to GHL) when it is cached
        already or another worker is minting it right now. True when this call minted it."""
        if self._cached_location_token(location_id):
            return False
        self._installation()
        with contextlib.ExitStack() as held:
            try:
                held.enter_context(self._mint_lock(location_id, wait=0))
            except LockTimeout:
                return False
            if self._cached_location_token(location_id):
                return False
            self._mint(location_id, client)
            return True

    def _mint_lock(self, location_id: str, *, wait: float):
        return named_lock(
            f"ghl-loctoken:agency:{self.agency_id}:{location_id}",
            timeout=settings.GHL_CALL_DEADLINE_SECONDS + 30,
            wait=wait,
        )

    def _cached_location_token(self, location_id: str) -> str | None:
        key = _location_cache_key(self.agency_id, location_id)
        cached = cache.get(key)
        if cached:
            try:
                return tokens.decrypt(cached)
            except tokens.InvalidToken:
                cache.delete(key)  # encrypted under a retired key: mint a new one
        return None

    def _mint(self, location_id: str, client) -> str:
        grant = oauth.mint_location_token(client, location_id)
        ttl = grant.expires_in - settings.GHL_TOKEN_REFRESH_MARGIN_SECONDS
        if ttl > 0:
            key = _location_cache_key(self.agency_id, location_id)
            cache.set(key, tokens.encrypt(grant.access_token), timeout=ttl)
        return grant.access_token

    def drop_location_token(self, location_id: str, rejected: str) -> None:
        key = _location_cache_key(self.agency_id, location_id)
        cached = cache.get(key)
        try:
            if cached and tokens.decrypt(cached) != rejected:
                return  # already replaced by another worker
        except tokens.InvalidToken:
            pass
        cache.delete(key)

    def forget_location_tokens(self, location_ids=None) -> None:
        from accounts.models import Location

        ids = location_ids
        if ids is None:
            ids = Location.objects.for_agency(self.agency_id).values_list("ghl_id", flat=True)
        cache.delete_many([_location_cache_key(self.agency_id, i) for i in ids])


def client_for_agency(agency: Agency, **kwargs):
    """A GHLClient that uses (and refreshes) this agency's stored grant."""
    from sync.ghl.client import GHLClient

    return GHLClient(AgencyTokens(agency), **kwargs)
