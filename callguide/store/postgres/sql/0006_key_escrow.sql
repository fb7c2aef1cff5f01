-- CallGuide team store, migration 0006: key escrow, so that the readers a consent admits can read
-- what the customer consented to share with them (issue 13 §4 "the care team reads referrals and
-- the details consented for the care team"; issue 10's sealed values, docs/team.md "Key escrow").
--
-- A desktop seals special-category values under per-(account, purpose) data keys that live in its
-- own `<journal>.keys` file. Without a copy here, `entry_details` is ciphertext to everyone. The
-- desktop's sync deposits a copy of each key whose purpose `consent_scopes` admits to some reader
-- (never the account's `personal` key), in the same transaction as the entries that use it.
--
-- - Nobody INSERTs, UPDATEs or DELETEs `data_keys` directly: `deposit_keys()` (the desktop's owner,
--   for their own desktop) and `destroy_keys()` (withdrawal by the desktop's owner, or erasure by a
--   supervisor or the care team, as store/privacy.py ERASE_ROLES) are the only doors (SECURITY
--   DEFINER), and a trigger allows only one change ever: a live key becomes a tombstone (key NULL,
--   when, how, why). A tombstone is never revived and no row is ever deleted.
-- - The journal says what is destroyed: a `consent_withdrawn` (account-wide, that purpose), an
--   `erasure` (account-wide when written by a supervisor or the care team, else that desktop's keys)
--   or a `retention_purge` (that desktop's keys of those purposes) destroys the matching escrowed
--   keys in the transaction that stores the entry, so a withdrawal reaching the server always
--   destroys the copy here, whoever pushed it and whether or not that desktop held the key.
-- - Who reads: the care team reads the keys (and tombstones) of purposes consent_scopes admits to
--   the care team, on accounts referred to it, never a live key whose purpose was withdrawn (the
--   same conditions as care_team_reads_consented on entry_details). Auditors read every row but not
--   the key bytes (column privileges): they audit the escrow (which keys, when destroyed, why)
--   without gaining the special-category values their exports redact. Agents, supervisors, trainers
--   and reviewers read nothing here.
--
-- `created` is the journal time (`ts`) of the first entry sealed under the key that reached the
-- team store (the engine makes a key on its first use), so it compares with the entries' `at`.
-- PostgreSQL keeps an UPDATEd tuple's old version until VACUUM and the WAL keeps the bytes until it
-- is recycled (and archived WAL and base backups for as long as they are kept): docs/team.md says
-- what destruction guarantees here.

CREATE TABLE data_keys (
    kid          text PRIMARY KEY,
    desktop_id   text NOT NULL,       -- the desktop that deposited it (its journal made the key)
    account_id   text NOT NULL,
    purpose      text NOT NULL CHECK (purpose <> 'personal'),
    key          bytea CHECK (key IS NULL OR length(key) = 32),
    created      timestamptz NOT NULL,
    deposited_at timestamptz NOT NULL DEFAULT now(),
    destroyed    timestamptz,
    how          text CHECK (how IN ('withdrawn', 'erased', 'purged')),
    reason       text,
    CHECK ((key IS NULL) = (destroyed IS NOT NULL) AND (destroyed IS NULL) = (how IS NULL))
);
CREATE INDEX data_keys_account ON data_keys (account_id, purpose);
CREATE INDEX entries_key_destruction ON entries (account_id, at)
    WHERE type IN ('consent_withdrawn', 'erasure', 'retention_purge');

-- The only change ever allowed: live -> tombstone, nothing else touched. No DELETE, no TRUNCATE.
CREATE FUNCTION data_keys_only_destroyed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION USING ERRCODE = 'CGJ01',
            MESSAGE = format('data_keys: %s refused (a key is destroyed, its tombstone kept)', TG_OP);
    END IF;
    IF OLD.key IS NULL OR NEW.key IS NOT NULL OR NEW.destroyed IS NULL OR NEW.how IS NULL
            OR (NEW.kid, NEW.desktop_id, NEW.account_id, NEW.purpose, NEW.created, NEW.deposited_at)
               IS DISTINCT FROM (OLD.kid, OLD.desktop_id, OLD.account_id, OLD.purpose, OLD.created, OLD.deposited_at)
    THEN
        RAISE EXCEPTION USING ERRCODE = 'CGJ01',
            MESSAGE = 'data_keys: a key can only be destroyed (live to tombstone); nothing else changes';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER data_keys_only_destroyed BEFORE UPDATE OR DELETE ON data_keys
    FOR EACH ROW EXECUTE FUNCTION data_keys_only_destroyed();
CREATE TRIGGER data_keys_no_truncate BEFORE TRUNCATE ON data_keys
    FOR EACH STATEMENT EXECUTE FUNCTION data_keys_only_destroyed();

-- Destroy live escrowed keys of an account: those purposes (NULL: all), deposited by those desktops
-- (NULL: any), first used at or before p_before. Returns how many.
CREATE FUNCTION shred_keys(p_account text, p_purposes text[], p_desktops text[], p_before timestamptz,
                           p_when timestamptz, p_how text, p_reason text) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = @schema@, pg_temp AS $$
DECLARE
    n integer;
BEGIN
    UPDATE data_keys SET key = NULL, destroyed = p_when, how = p_how, reason = p_reason
     WHERE account_id = p_account AND key IS NOT NULL
       AND (p_purposes IS NULL OR purpose = ANY (p_purposes))
       AND (p_desktops IS NULL OR desktop_id = ANY (p_desktops))
       AND created <= p_before;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- What one journal entry destroys here (consent_withdrawn, erasure, retention_purge).
CREATE FUNCTION shred_for_entry(p_desktop text, p_seq bigint, p_type text, p_account text, p_at timestamptz,
                                p_data json) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = @schema@, pg_temp AS $$
DECLARE
    ref text := p_desktop || '/' || p_seq;
    eraser boolean;
    purposes text[];
BEGIN
    IF p_type = 'consent_withdrawn' THEN
        IF p_data->>'purpose' IS NULL THEN
            RETURN 0;
        END IF;
        RETURN shred_keys(p_account, ARRAY[p_data->>'purpose'], NULL, p_at, p_at, 'withdrawn',
                          format('consent withdrawn (entry %s)', ref));
    ELSIF p_type = 'erasure' THEN
        SELECT coalesce(p.roles && ARRAY['supervisor', 'care_team'], false) INTO eraser
          FROM desktops d JOIN people p ON p.person_id = d.owner WHERE d.desktop_id = p_desktop;
        RETURN shred_keys(p_account, NULL, CASE WHEN coalesce(eraser, false) THEN NULL ELSE ARRAY[p_desktop] END,
                          p_at, p_at, 'erased', format('erasure (entry %s)', ref));
    ELSIF p_type = 'retention_purge' THEN
        purposes := ARRAY(SELECT json_array_elements_text(
                              CASE WHEN json_typeof(p_data->'purposes') = 'array' THEN p_data->'purposes'
                                   ELSE '[]'::json END));
        RETURN shred_keys(p_account, CASE WHEN cardinality(purposes) > 0 THEN purposes END, ARRAY[p_desktop],
                          p_at, p_at, 'purged', format('retention purge (entry %s)', ref));
    END IF;
    RETURN 0;
END
$$;

CREATE FUNCTION shred_on_ingest() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = @schema@, pg_temp AS $$
BEGIN
    PERFORM shred_for_entry(NEW.desktop_id, NEW.seq, NEW.type, NEW.account_id, NEW.at, NEW.data);
    RETURN NULL;
END
$$;
CREATE TRIGGER entries_shred_keys AFTER INSERT ON entries FOR EACH ROW
    WHEN (NEW.type IN ('consent_withdrawn', 'erasure', 'retention_purge'))
    EXECUTE FUNCTION shred_on_ingest();

-- The desktop's owner deposits keys of their desktop (after, and in the same transaction as, the
-- entries that use them). Each row: kid, account, purpose, the key (NULL: destroyed on the desktop),
-- created (the journal ts of its first use), and for a tombstone when, how and why. Idempotent: a
-- kid the team store holds is never replaced; a live one is destroyed when the desktop says it
-- destroyed it. Keys of purposes no reader is admitted to are skipped; the personal key is refused.
-- A key first used before a withdrawal or erasure the team store holds is stored destroyed.
-- Returns how many rows were stored or destroyed.
CREATE FUNCTION deposit_keys(p_desktop text, p_kid text[], p_account text[], p_purpose text[], p_key bytea[],
                             p_created text[], p_destroyed text[], p_how text[], p_reason text[])
    RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = @schema@, pg_temp AS $$
DECLARE
    me text := person();
    n integer := coalesce(cardinality(p_kid), 0);
    owner_of text;
    added integer := 0;
    dead integer := 0;
    accounts text[];
    since timestamptz;
    e record;
BEGIN
    IF me IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'CGA01',
            MESSAGE = format('%s is not a person on this team store (callguide server person)', caller());
    END IF;
    IF NOT (pg_has_role(caller(), @rolename:agent@, 'MEMBER')
            OR pg_has_role(caller(), @rolename:care_team@, 'MEMBER')
            OR pg_has_role(caller(), @rolename:supervisor@, 'MEMBER')) THEN
        RAISE EXCEPTION USING ERRCODE = 'CGA02',
            MESSAGE = format('%s may not deposit data keys (needs the agent, care team or supervisor role)', me);
    END IF;
    SELECT owner INTO owner_of FROM desktops WHERE desktop_id = p_desktop;
    IF owner_of IS DISTINCT FROM me THEN
        RAISE EXCEPTION USING ERRCODE = 'CGO01',
            MESSAGE = format('desktop %s belongs to %s, not %s', p_desktop, coalesce(owner_of, 'nobody yet'), me);
    END IF;
    IF n = 0 THEN
        RETURN 0;
    END IF;
    IF NOT (coalesce(cardinality(p_account), 0) = n AND coalesce(cardinality(p_purpose), 0) = n
            AND coalesce(cardinality(p_key), 0) = n AND coalesce(cardinality(p_created), 0) = n
            AND coalesce(cardinality(p_destroyed), 0) = n AND coalesce(cardinality(p_how), 0) = n
            AND coalesce(cardinality(p_reason), 0) = n) THEN
        RAISE EXCEPTION USING ERRCODE = 'CGI01', MESSAGE = 'the deposit''s columns differ in length';
    END IF;
    IF 'personal' = ANY (p_purpose) THEN
        RAISE EXCEPTION USING ERRCODE = 'CGK01',
            MESSAGE = 'the account''s personal key never leaves the desktop: deposit refused';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(p_key, p_destroyed, p_how) AS u(k, d, h)
                WHERE (k IS NULL) <> (d IS NOT NULL) OR (d IS NULL) <> (h IS NULL)
                   OR (k IS NOT NULL AND length(k) <> 32)
                   OR (h IS NOT NULL AND h NOT IN ('withdrawn', 'erased', 'purged'))) THEN
        RAISE EXCEPTION USING ERRCODE = 'CGI01',
            MESSAGE = 'a deposited key is 32 bytes and live, or NULL with when and how it was destroyed';
    END IF;

    WITH ins AS (
        INSERT INTO data_keys (kid, desktop_id, account_id, purpose, key, created, destroyed, how, reason)
        SELECT u.kid, p_desktop, u.account_id, u.purpose, u.k, u.created::timestamptz, u.d::timestamptz, u.h, u.r
          FROM unnest(p_kid, p_account, p_purpose, p_key, p_created, p_destroyed, p_how, p_reason)
               AS u(kid, account_id, purpose, k, created, d, h, r)
         WHERE u.purpose IN (SELECT cs.purpose FROM consent_scopes cs)
           AND EXISTS (SELECT 1 FROM entries x WHERE x.account_id = u.account_id AND x.desktop_id = p_desktop)
        ON CONFLICT (kid) DO NOTHING
        RETURNING account_id, created, key IS NOT NULL AS live)
    SELECT count(*), array_agg(DISTINCT account_id) FILTER (WHERE live), min(created) FILTER (WHERE live)
      INTO added, accounts, since FROM ins;

    -- Destroyed on the desktop: the copy here too (this desktop's keys only).
    UPDATE data_keys k SET key = NULL, destroyed = u.d::timestamptz, how = u.h, reason = u.r
      FROM unnest(p_kid, p_key, p_destroyed, p_how, p_reason) AS u(kid, nk, d, h, r)
     WHERE k.kid = u.kid AND k.desktop_id = p_desktop AND k.key IS NOT NULL AND u.nk IS NULL;
    GET DIAGNOSTICS dead = ROW_COUNT;

    -- New live keys first used before a withdrawal, erasure or purge the team store holds: destroyed now.
    IF accounts IS NOT NULL THEN
        FOR e IN SELECT x.desktop_id, x.seq, x.type, x.account_id, x.at, x.data FROM entries x
                  WHERE x.account_id = ANY (accounts) AND x.at >= since
                    AND x.type IN ('consent_withdrawn', 'erasure', 'retention_purge')
                  ORDER BY x.at, x.desktop_id, x.seq LOOP
            PERFORM shred_for_entry(e.desktop_id, e.seq, e.type, e.account_id, e.at, e.data);
        END LOOP;
    END IF;
    RETURN added + dead;
END
$$;

-- Destroy escrowed keys directly (a withdrawal or an erasure made at the team store, or a desktop
-- whose journal cannot be pushed). Withdrawal: a supervisor or the care team (any desktop's keys),
-- or an agent (the keys their own desktops deposited). Erasure and purge: a supervisor or the care
-- team only (store/privacy.py ERASE_ROLES). Returns how many keys were destroyed.
CREATE FUNCTION destroy_keys(p_account text, p_purposes text[], p_how text, p_reason text) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = @schema@, pg_temp AS $$
DECLARE
    me text := person();
    eraser boolean := pg_has_role(caller(), @rolename:supervisor@, 'MEMBER')
                      OR pg_has_role(caller(), @rolename:care_team@, 'MEMBER');
    agent boolean := pg_has_role(caller(), @rolename:agent@, 'MEMBER');
BEGIN
    IF me IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'CGA01',
            MESSAGE = format('%s is not a person on this team store (callguide server person)', caller());
    END IF;
    IF p_how IS NULL OR p_how NOT IN ('withdrawn', 'erased', 'purged') THEN
        RAISE EXCEPTION USING ERRCODE = 'CGI01',
            MESSAGE = format('a key is withdrawn, erased or purged, not %s', coalesce(p_how, 'nothing'));
    END IF;
    IF coalesce(btrim(p_reason), '') = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'CGI01', MESSAGE = 'destroying keys needs its reason';
    END IF;
    IF p_how = 'withdrawn' AND NOT (eraser OR agent) OR p_how <> 'withdrawn' AND NOT eraser THEN
        RAISE EXCEPTION USING ERRCODE = 'CGA04',
            MESSAGE = format('%s may not destroy keys by %s (needs the %s role)', me,
                             CASE p_how WHEN 'withdrawn' THEN 'withdrawal' WHEN 'erased' THEN 'erasure' ELSE 'purge' END,
                             CASE WHEN p_how = 'withdrawn' THEN 'agent, supervisor or care team'
                                  ELSE 'supervisor or care team' END);
    END IF;
    RETURN shred_keys(p_account, p_purposes,
                      CASE WHEN eraser THEN NULL ELSE ARRAY(SELECT desktop_id FROM desktops WHERE owner = me) END,
                      'infinity', now(), p_how, format('%s (by %s)', btrim(p_reason), me));
END
$$;

REVOKE ALL ON data_keys FROM PUBLIC;
REVOKE ALL ON FUNCTION data_keys_only_destroyed(), shred_keys(text, text[], text[], timestamptz, timestamptz, text, text),
    shred_for_entry(text, bigint, text, text, timestamptz, json), shred_on_ingest(),
    deposit_keys(text, text[], text[], text[], bytea[], text[], text[], text[], text[]),
    destroy_keys(text, text[], text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION deposit_keys(text, text[], text[], text[], bytea[], text[], text[], text[], text[]),
    destroy_keys(text, text[], text, text) TO @role:agent@, @role:care_team@, @role:supervisor@;

GRANT SELECT ON data_keys TO @role:care_team@;
GRANT SELECT (kid, desktop_id, account_id, purpose, created, deposited_at, destroyed, how, reason) ON data_keys
    TO @role:auditor@;

ALTER TABLE data_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY auditor_reads_all ON data_keys FOR SELECT TO @role:auditor@ USING (true);
CREATE POLICY care_team_reads_consented_keys ON data_keys FOR SELECT TO @role:care_team@
    USING (purpose IN (SELECT cs.purpose FROM consent_scopes cs WHERE cs.reader = 'care_team')
           AND referred(account_id)
           AND (key IS NULL OR NOT withdrawn_since(account_id, ARRAY[purpose], created)));
