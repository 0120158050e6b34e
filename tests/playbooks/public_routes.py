PUBLIC_ROUTES: set[str] = set()  # playbooks has no public views
