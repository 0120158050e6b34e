# Reviewed public routes of the billing app: the Stripe webhook verifies Stripe's signature
# before reading anything else.
PUBLIC_ROUTES = {"billing:stripe-webhook"}
