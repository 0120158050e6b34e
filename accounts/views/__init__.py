"""Pages and endpoints of the accounts app, one module per job."""
