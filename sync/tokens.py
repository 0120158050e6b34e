"""OAuth tokens are encrypted with the base's helper (gocsm.encryption), which playbooks also use
for webhook URLs; this module keeps the name the sync code and `rotate_token_keys` import."""

from gocsm.encryption import InvalidToken, _fernet, decrypt, encrypt, fernet, reencrypt

__all__ = ["InvalidToken", "_fernet", "decrypt", "encrypt", "fernet", "reencrypt"]
