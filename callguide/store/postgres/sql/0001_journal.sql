-- CallGuide team store, migration 0001: the central journal.
--
-- Placeholders (filled by callguide/store/postgres/migrate.py, always as quoted identifiers or
-- literals): @schema@, @role:NAME@ (a group role), @rolename:NAME@ (its name as a literal),
-- @channel:NAME@ (a NOTIFY channel name as a literal). The migrator runs this file as the
-- schema's owner role (SET ROLE), so every object below is owned by that NOLOGIN role and every
-- SECURITY DEFINER function runs with its rights, never a superuser's.
--
-- Never edit this file once applied anywhere: add a new numbered file.

-- Who is who. A person connects as their own login role; `login_role` maps it to the person id
-- written in journal entries (`agent`). Kept by `callguide server person`.
CREATE TABLE people (
    person_id  text PRIMARY KEY,
    login_role name NOT NULL UNIQUE,
    name       text NOT NULL DEFAULT '',
    roles      text[] NOT NULL,
    team       text,
    changed_at timestamptz NOT NULL DEFAULT now()
);

-- One row per desktop journal that has synced, with the head the server has stored: the
-- witness that `audit verify` compares a desktop's file against (truncation, rollback).
CREATE TABLE desktops (
    desktop_id    text PRIMARY KEY,
    owner         text NOT NULL REFERENCES people (person_id),
    registered_at timestamptz NOT NULL DEFAULT now(),
    head_seq      bigint NOT NULL DEFAULT 0,
    head_hash     text NOT NULL DEFAULT repeat('0', 64),
    head_ts       text,               -- the head entry's own ts (the desktop's clock)
    head_at       timestamptz         -- when the server stored it (the server's clock)
);

-- The journal: every desktop's stream, each with its own hash chain, exactly as written on the
-- desktop (docs/journal.md) except that `data` is the REDACTED form (store.sqlite.redact_data);
-- the full data of an entry with special-category values is in `entry_details`. The hash always
-- covers the full data. `id` is the server's arrival order; `at` is `ts` parsed (ordering and,
-- later, monthly partitions).
CREATE TABLE entries (
    desktop_id  text NOT NULL,
    seq         bigint NOT NULL CHECK (seq > 0),
    id          bigint GENERATED ALWAYS AS IDENTITY,
    at          timestamptz NOT NULL,
    ts          text NOT NULL,
    type        text NOT NULL,
    call_id     text NOT NULL,
    account_id  text NOT NULL,
    agent       text NOT NULL,
    flow_id     text,
    flow_hash   text,
    step_id     text,
    data        json NOT NULL,        -- json (not jsonb): the exact canonical text, as hashed
    has_details boolean NOT NULL,
    prev_hash   text NOT NULL,
    hash        text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (desktop_id, seq)
);
CREATE UNIQUE INDEX entries_arrival ON entries (id);
CREATE INDEX entries_account ON entries (account_id, at, desktop_id, seq);
CREATE INDEX entries_call ON entries (call_id, desktop_id, seq);
CREATE INDEX entries_call_bounds ON entries (call_id) WHERE type IN ('call_started', 'call_ended');
CREATE INDEX entries_referrals ON entries (account_id) WHERE type = 'escalation';
CREATE INDEX entries_withdrawals ON entries (account_id) WHERE type = 'consent_withdrawn';

-- The special-category seam. One row per entry whose full data differs from its redacted form.
-- `purposes` are the consent purposes the detail relies on; `consent_scopes` says which readers a
-- purpose admits. The privacy issue encrypts `data` here (per-account keys in a key table of its
-- own); its erasure path destroys keys only and never touches these rows.
CREATE TABLE entry_details (
    desktop_id text NOT NULL,
    seq        bigint NOT NULL,
    account_id text NOT NULL,
    at         timestamptz NOT NULL,
    type       text NOT NULL,
    purposes   text[] NOT NULL,
    data       json NOT NULL,
    PRIMARY KEY (desktop_id, seq)
    -- No FOREIGN KEY to entries: its check locks the entry row (FOR KEY SHARE), which needs UPDATE
    -- privilege on entries, and nobody, the owner included, has that. ingest() writes both rows
    -- in one transaction.
);

-- Which readers (besides auditors) a consent purpose admits to special-category details.
CREATE TABLE consent_scopes (
    purpose text NOT NULL,
    reader  text NOT NULL,
    PRIMARY KEY (purpose, reader)
);
INSERT INTO consent_scopes (purpose, reader) VALUES ('health_disclosure', 'care_team');

-- The entry types account protections are derived from (callguide.store.derive.STATE_TYPES);
-- `callguide server init` refreshes this list from the code it runs, so types added there are
-- readable by agents after the next init.
CREATE TABLE protection_types (
    type text PRIMARY KEY
);

-- Who opened which account, when: reading an account's protections is itself recorded, and an
-- agent reads the protections only of accounts they opened.
CREATE TABLE account_reads (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id  text NOT NULL,
    account_id text NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX account_reads_person ON account_reads (person_id, account_id);

-- Append-only: a trigger refuses UPDATE, DELETE and TRUNCATE for everyone, superusers and the
-- owner included (privileges are revoked too, see 0002). The privacy issue's erasure path must
-- not add an exception here: it deletes keys from its own key table.
CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'CGJ01',
        MESSAGE = format('%s is append-only: %s refused', TG_TABLE_NAME, TG_OP);
END
$$;

CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER entry_details_append_only BEFORE UPDATE OR DELETE ON entry_details
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER entry_details_no_truncate BEFORE TRUNCATE ON entry_details
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER account_reads_append_only BEFORE UPDATE OR DELETE ON account_reads
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER account_reads_no_truncate BEFORE TRUNCATE ON account_reads
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- The connected person's login role: the SET ROLE role if any, else the login. (Inside a
-- SECURITY DEFINER function current_user is the owner; the `role` setting and session_user are not.)
CREATE FUNCTION caller() RETURNS name LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN current_setting('role') IN ('none', '') THEN session_user
                ELSE current_setting('role')::name END
$$;

CREATE FUNCTION person() RETURNS text LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = @schema@, pg_temp AS $$
    SELECT person_id FROM people WHERE login_role = caller()
$$;

CREATE FUNCTION opened(p_account text) RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = @schema@, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM account_reads WHERE person_id = person() AND account_id = p_account)
$$;

CREATE FUNCTION referred(p_account text) RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = @schema@, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM entries WHERE account_id = p_account AND type = 'escalation'
                   AND data->>'kind' = 'care_team')
$$;

CREATE FUNCTION in_my_team(p_agent text) RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = @schema@, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM people a JOIN people me ON me.team = a.team
                   WHERE a.person_id = p_agent AND me.person_id = person() AND a.team IS NOT NULL)
$$;

-- A consent purpose withdrawn on the account after `p_since` (the detail is hidden from then on).
CREATE FUNCTION withdrawn_since(p_account text, p_purposes text[], p_since timestamptz) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = @schema@, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM entries WHERE account_id = p_account AND type = 'consent_withdrawn'
                   AND data->>'purpose' = ANY (p_purposes) AND at > p_since)
$$;

-- Record that the caller opened an account (before reading its protections).
CREATE FUNCTION open_account(p_account text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = @schema@, pg_temp AS $$
DECLARE
    me text := person();
BEGIN
    IF me IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'CGA01',
            MESSAGE = format('%s is not a person on this team store (callguide server person)', caller());
    END IF;
    INSERT INTO account_reads (person_id, account_id) VALUES (me, p_account);
END
$$;

-- The witness: the latest head the server stored for a desktop (seq 0 when it never synced).
CREATE FUNCTION latest(p_desktop text) RETURNS TABLE (seq bigint, hash text, ts timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = @schema@, pg_temp AS $$
    SELECT head_seq, head_hash, head_at FROM desktops WHERE desktop_id = p_desktop
$$;

-- Ingest one batch of a desktop's entries, in seq order. Idempotent: entries the server already
-- holds are checked (same hash, else a fork) and skipped. New entries must continue the stored
-- head: seq head+1, head+2, ... each linked by prev_hash to the one before (else a gap or a
-- fork), all or nothing. Only the desktop's owner may push to it; a new desktop id is registered
-- to the first person who pushes it. Returns the new head.
CREATE FUNCTION ingest(
    p_desktop text, p_seq bigint[], p_ts text[], p_type text[], p_call text[], p_account text[],
    p_agent text[], p_flow_id text[], p_flow_hash text[], p_step text[], p_data text[],
    p_detail text[], p_purposes text[], p_prev text[], p_hash text[])
    RETURNS TABLE (head_seq bigint, head_hash text, stored integer)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = @schema@, pg_temp AS $$
#variable_conflict use_column
DECLARE
    me text := person();
    n integer := coalesce(cardinality(p_seq), 0);
    d desktops%ROWTYPE;
    bad record;
    last record;
    added integer := 0;
BEGIN
    IF me IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'CGA01',
            MESSAGE = format('%s is not a person on this team store (callguide server person)', caller());
    END IF;
    IF NOT (pg_has_role(caller(), @rolename:agent@, 'MEMBER')
            OR pg_has_role(caller(), @rolename:care_team@, 'MEMBER')
            OR pg_has_role(caller(), @rolename:supervisor@, 'MEMBER')) THEN
        RAISE EXCEPTION USING ERRCODE = 'CGA02',
            MESSAGE = format('%s may not push journal entries (needs the agent, care team or supervisor role)', me);
    END IF;
    IF p_desktop IS NULL OR p_desktop = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'CGI01', MESSAGE = 'a batch needs a desktop id';
    END IF;
    IF n > 0 AND NOT (coalesce(cardinality(p_ts), 0) = n AND coalesce(cardinality(p_type), 0) = n
            AND coalesce(cardinality(p_call), 0) = n AND coalesce(cardinality(p_account), 0) = n
            AND coalesce(cardinality(p_agent), 0) = n AND coalesce(cardinality(p_flow_id), 0) = n
            AND coalesce(cardinality(p_flow_hash), 0) = n AND coalesce(cardinality(p_step), 0) = n
            AND coalesce(cardinality(p_data), 0) = n AND coalesce(cardinality(p_detail), 0) = n
            AND coalesce(cardinality(p_purposes), 0) = n AND coalesce(cardinality(p_prev), 0) = n
            AND coalesce(cardinality(p_hash), 0) = n) THEN
        RAISE EXCEPTION USING ERRCODE = 'CGI01', MESSAGE = 'the batch''s columns differ in length';
    END IF;

    INSERT INTO desktops (desktop_id, owner) VALUES (p_desktop, me) ON CONFLICT (desktop_id) DO NOTHING;
    SELECT * INTO d FROM desktops WHERE desktop_id = p_desktop FOR UPDATE;
    IF d.owner <> me THEN
        RAISE EXCEPTION USING ERRCODE = 'CGO01',
            MESSAGE = format('desktop %s belongs to %s, not %s', p_desktop, d.owner, me);
    END IF;

    -- Entries already stored: the same hash, or the desktop's journal forked.
    SELECT u.s, u.h, e.hash AS stored_hash INTO bad
      FROM unnest(p_seq, p_hash) AS u(s, h)
      JOIN entries e ON e.desktop_id = p_desktop AND e.seq = u.s
     WHERE e.hash IS DISTINCT FROM u.h
     ORDER BY u.s LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CGF01',
            MESSAGE = format('desktop %s forked: entry %s differs from the one the team store holds', p_desktop, bad.s);
    END IF;

    -- New entries: head+1, head+2, ... each linked to the one before.
    SELECT x.s, x.p, x.want, x.want_prev INTO bad FROM (
        SELECT u.s, u.p, d.head_seq + row_number() OVER (ORDER BY u.s, u.o) AS want,
               coalesce(lag(u.h) OVER (ORDER BY u.s, u.o), d.head_hash) AS want_prev
          FROM unnest(p_seq, p_prev, p_hash) WITH ORDINALITY AS u(s, p, h, o)
         WHERE u.s > d.head_seq) x
     WHERE x.s <> x.want OR x.p IS DISTINCT FROM x.want_prev
     ORDER BY x.want LIMIT 1;
    IF FOUND THEN
        IF bad.s <> bad.want THEN
            RAISE EXCEPTION USING ERRCODE = 'CGG01',
                MESSAGE = format('desktop %s: gap, expected entry %s, got %s (the team store holds up to %s)',
                                 p_desktop, bad.want, bad.s, d.head_seq);
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'CGF02',
            MESSAGE = format('desktop %s forked: entry %s does not continue the chain the team store holds',
                             p_desktop, bad.s);
    END IF;

    INSERT INTO entries (desktop_id, seq, at, ts, type, call_id, account_id, agent, flow_id, flow_hash,
                         step_id, data, has_details, prev_hash, hash)
    SELECT p_desktop, u.s, u.ts::timestamptz, u.ts, u.type, u.call_id, u.account_id, u.agent, u.flow_id,
           u.flow_hash, u.step_id, u.data::json, u.detail IS NOT NULL, u.prev, u.hash
      FROM unnest(p_seq, p_ts, p_type, p_call, p_account, p_agent, p_flow_id, p_flow_hash, p_step, p_data,
                  p_detail, p_prev, p_hash)
           AS u(s, ts, type, call_id, account_id, agent, flow_id, flow_hash, step_id, data, detail, prev, hash)
     WHERE u.s > d.head_seq
     ORDER BY u.s;
    GET DIAGNOSTICS added = ROW_COUNT;

    IF added > 0 THEN
        INSERT INTO entry_details (desktop_id, seq, account_id, at, type, purposes, data)
        SELECT p_desktop, u.s, u.account_id, u.ts::timestamptz, u.type,
               ARRAY(SELECT json_array_elements_text(coalesce(u.purposes, '[]')::json)), u.detail::json
          FROM unnest(p_seq, p_ts, p_type, p_account, p_detail, p_purposes)
               AS u(s, ts, type, account_id, detail, purposes)
         WHERE u.s > d.head_seq AND u.detail IS NOT NULL;

        SELECT u.s, u.h, u.ts INTO last FROM unnest(p_seq, p_hash, p_ts) AS u(s, h, ts)
         ORDER BY u.s DESC LIMIT 1;
        UPDATE desktops SET head_seq = last.s, head_hash = last.h, head_ts = last.ts, head_at = now()
         WHERE desktop_id = p_desktop;
        d.head_seq := last.s;
        d.head_hash := last.h;

        -- Tell listeners (delivered at commit). Payloads carry ids only: NOTIFY is not subject to
        -- row-level security, so a listener reads what it may see through its own connection.
        PERFORM pg_notify(@channel:protections@,
                          json_build_object('account', a.account_id, 'desktop', p_desktop, 'seq', a.s)::text)
           FROM (SELECT u.account_id, max(u.s) AS s
                   FROM unnest(p_seq, p_type, p_account) AS u(s, type, account_id)
                  WHERE u.s > d.head_seq - added AND u.type IN (SELECT type FROM protection_types)
                  GROUP BY u.account_id) a;
        PERFORM pg_notify(@channel:escalations@,
                          json_build_object('account', u.account_id, 'desktop', p_desktop, 'seq', u.s)::text)
           FROM unnest(p_seq, p_type, p_account) AS u(s, type, account_id)
          WHERE u.s > d.head_seq - added AND u.type = 'escalation';
    END IF;

    RETURN QUERY SELECT d.head_seq, d.head_hash, added;
END
$$;
