-- dynpin-bank: the initial PostgreSQL schema (see docs/bank-store.md, "PostgreSQL").
--
-- Every u64 of the Store trait (steps, Unix-second deadlines) is kept in a
-- bigint with its sign bit flipped (step_to_i64 in bank/src/store/mod.rs), so
-- that SQL comparisons keep the unsigned order up to u64::MAX;
-- u64_of(bigint) reads one back as a number. Every u32 count is a bigint
-- checked to the u32 range. Times that the database's own clock decides
-- (SMS expiry, rate windows, idempotency leases) are timestamptz of whole
-- seconds ('infinity' beyond the type's range).

CREATE FUNCTION u64_of(stored bigint) RETURNS numeric
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT stored::numeric + 9223372036854775808 $$;

-- A card as provisioned: the sealed parameters and seed, and the plain fields
-- the bank looks cards up by.
CREATE TABLE card (
    id               bytea PRIMARY KEY CHECK (octet_length(id) = 16),
    key_id           text NOT NULL,
    sealed           bytea NOT NULL,
    confirm_deadline bigint NOT NULL,          -- u64 Unix seconds, flipped
    phone            text,
    last_four        integer NOT NULL CHECK (last_four BETWEEN 0 AND 65535),
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX card_by_phone ON card (phone, last_four) WHERE phone IS NOT NULL;

-- A card's verification state: one row per card, the row every PIN attempt
-- and confirmation updates (or locks) in its one step.
CREATE TABLE card_state (
    card_id          bytea PRIMARY KEY REFERENCES card (id) ON DELETE CASCADE,
    status           text NOT NULL CHECK (status IN ('pending', 'active', 'suspended')),
    attempts         bigint NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND 4294967295),
    confirm_attempts bigint NOT NULL DEFAULT 0 CHECK (confirm_attempts BETWEEN 0 AND 4294967295),
    last_step_first  bigint,                   -- u64 step, flipped; NULL: none accepted
    last_step_second bigint,                   -- (the second PIN, tokens, amount-bound codes)
    drift_first      bigint NOT NULL DEFAULT 0, -- seconds
    drift_second     bigint NOT NULL DEFAULT 0
);

-- Amount-bound codes: the last step accepted per transaction, within the horizon.
CREATE TABLE used_transaction (
    card_id bytea NOT NULL REFERENCES card_state (card_id) ON DELETE CASCADE,
    tx      bytea NOT NULL CHECK (octet_length(tx) = 32),
    step    bigint NOT NULL,                   -- u64 step, flipped
    PRIMARY KEY (card_id, tx)
);
CREATE INDEX used_transaction_by_step ON used_transaction (card_id, step);

-- Pending SMS codes (their keyed hashes), one per card and slot. No foreign
-- key: like the in-memory store, a code may be issued for any card id.
CREATE TABLE sms_code (
    card_id       bytea NOT NULL CHECK (octet_length(card_id) = 16),
    slot          bytea NOT NULL CHECK (octet_length(slot) = 32),
    tag           bytea NOT NULL CHECK (octet_length(tag) = 32),
    expires_at    timestamptz NOT NULL,
    attempts_left bigint NOT NULL CHECK (attempts_left BETWEEN 0 AND 4294967295),
    PRIMARY KEY (card_id, slot)
);

-- The SMS codes sent per card, for the rate window (pruned as it slides).
CREATE TABLE sms_sent (
    id      bigserial PRIMARY KEY,
    card_id bytea NOT NULL CHECK (octet_length(card_id) = 16),
    sent_at timestamptz NOT NULL
);
CREATE INDEX sms_sent_by_card ON sms_sent (card_id, sent_at);

-- Activations kept for the ATM channel, fetched by the hash of a short handle.
CREATE TABLE activation (
    handle      bytea PRIMARY KEY CHECK (octet_length(handle) = 32),
    card_id     bytea NOT NULL CHECK (octet_length(card_id) = 16),
    payload     text NOT NULL,
    expires_at  bigint NOT NULL,               -- u64 Unix seconds, flipped
    max_fetches bigint NOT NULL CHECK (max_fetches BETWEEN 0 AND 4294967295),
    fetches     bigint NOT NULL DEFAULT 0 CHECK (fetches BETWEEN 0 AND max_fetches)
);
CREATE INDEX activation_by_expiry ON activation (expires_at);

-- Idempotency keys: the request's hash, the holder's lease, then the answer.
CREATE TABLE idempotency (
    client      text NOT NULL,
    key         text NOT NULL,
    request     bytea NOT NULL CHECK (octet_length(request) = 32),
    status      integer CHECK (status BETWEEN 0 AND 65535),
    body        bytea,
    lease_until timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client, key),
    CHECK ((status IS NULL) = (body IS NULL))
);

-- The audit log: append-only (a trigger refuses UPDATE, DELETE and TRUNCATE).
CREATE TABLE audit_log (
    id      bigserial PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    card_id bytea CHECK (octet_length(card_id) = 16),
    event   text NOT NULL,
    actor   text NOT NULL,
    detail  text NOT NULL
);
CREATE INDEX audit_log_by_card ON audit_log (card_id, id) WHERE card_id IS NOT NULL;

CREATE FUNCTION audit_log_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

-- Statement-level, so that even an UPDATE or DELETE matching no row is refused.
CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
