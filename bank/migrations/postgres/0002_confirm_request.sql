-- dynpin-bank: the token of the request that confirmed a card (see
-- docs/bank-store.md, "PostgreSQL", and docs/verifier.md, "Activation
-- confirmation").
--
-- record_confirmation stores it with the pending → active switch; a later
-- correct confirmation of the active card with the same token is that request
-- again (a retry whose answer was lost), answered as it was, not a clone.
-- NULL: the card was not confirmed by a request (pending, stored active, or
-- confirmed before this migration). Adding a nullable column without a
-- default rewrites no row; an older build ignores it.

ALTER TABLE card_state
    ADD COLUMN confirm_request bytea
        CHECK (confirm_request IS NULL OR octet_length(confirm_request) = 32);
