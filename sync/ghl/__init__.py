"""The GHL API client: the only code that talks HTTP to GHL (see client.GHLClient)."""
