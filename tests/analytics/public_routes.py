PUBLIC_ROUTES: set[str] = set()  # analytics has no public views
