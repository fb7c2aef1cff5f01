-- CallGuide team store, migration 0005: trainers' publications and the triage of agents' flags,
-- the same tables as the desktop's SQLite publication store (callguide/store/publications.py), so
-- every desktop's calls load the live versions from here (and cache them to start offline).
--
-- - flow_versions: one immutable row per submitted (or shipped) version, the exact text;
-- - publication_log: every decision (submitted, approved, rejected, live, practice, rollback,
--   withdrawn, cancelled), hash-chained like the journal; the chain is computed by the client
--   (store/publications.py, log_hash) and the server refuses an entry that does not continue the
--   head it holds (under a lock: two writers never fork it);
-- - releases: each shipped flows manifest adopted (once);
-- - flag_decisions: trainers' triage of agents' flags (the flags are `flag` journal entries).
--
-- Who: a person writes only under their own person id (`by_person`, `created_by`); `system` (the
-- shipped release, adopted by `callguide server init`) only by a member of the owner role.
-- Submitting needs the trainer role, approving or rejecting the reviewer role; rollback and
-- withdrawal trainers, reviewers and supervisors; the library's gates decide the rest (four eyes,
-- tests, coverage). Nobody changes or deletes a row (triggers, as for the journal).
-- (0004 is the console's migration; the migrator allows the gap until both are merged.)

CREATE TABLE flow_versions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    flow_id       text NOT NULL,
    version_label text NOT NULL,
    content_hash  text NOT NULL CHECK (content_hash ~ '^[0-9a-f]{64}$'),
    file_name     text NOT NULL,
    text          text NOT NULL,
    review_needed text,
    origin        text NOT NULL CHECK (origin IN ('workspace', 'shipped', 'legacy')),
    created_by    text NOT NULL,
    created_at    text NOT NULL,
    note          text NOT NULL,
    evidence      json NOT NULL,
    UNIQUE (flow_id, version_label)
);
CREATE INDEX flow_versions_hash ON flow_versions (content_hash);

CREATE TABLE publication_log (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ts            text NOT NULL,
    flow_id       text NOT NULL,
    version_id    bigint,  -- a flow_versions id; no FOREIGN KEY: its check needs UPDATE on flow_versions (see 0001)
    version_label text NOT NULL,
    event         text NOT NULL CHECK (event IN ('submitted', 'approved', 'rejected', 'live', 'practice',
                                                 'rollback', 'withdrawn', 'cancelled')),
    by_person     text NOT NULL,
    roles         json NOT NULL,
    note          text NOT NULL,
    diff_hash     text,
    effective_at  text,
    data          json NOT NULL,
    prev_hash     text NOT NULL,
    hash          text NOT NULL UNIQUE
);
CREATE INDEX publication_log_flow ON publication_log (flow_id, seq);

CREATE TABLE releases (
    manifest_hash text PRIMARY KEY,
    release       text NOT NULL,
    adopted_at    text NOT NULL,
    result        json NOT NULL
);

CREATE TABLE flag_decisions (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    flag_id       text NOT NULL,
    flow_id       text NOT NULL,
    step_id       text NOT NULL,
    state         text NOT NULL CHECK (state IN ('open', 'accepted', 'rejected', 'fixed')),
    reason        text NOT NULL,
    fixed_version text,
    by_person     text NOT NULL,
    ts            text NOT NULL
);
CREATE INDEX flag_decisions_flag ON flag_decisions (flag_id, seq);

CREATE TRIGGER flow_versions_append_only BEFORE UPDATE OR DELETE ON flow_versions
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER flow_versions_no_truncate BEFORE TRUNCATE ON flow_versions
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER publication_log_append_only BEFORE UPDATE OR DELETE ON publication_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER publication_log_no_truncate BEFORE TRUNCATE ON publication_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER releases_append_only BEFORE UPDATE OR DELETE ON releases
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER releases_no_truncate BEFORE TRUNCATE ON releases
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER flag_decisions_append_only BEFORE UPDATE OR DELETE ON flag_decisions
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER flag_decisions_no_truncate BEFORE TRUNCATE ON flag_decisions
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- The person a row may name as its author: the caller's own person id, or `system` for a member of
-- the owner role (the shipped release, adopted by `callguide server init`).
CREATE FUNCTION check_author(p_by text, p_what text) RETURNS void LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = @schema@, pg_temp AS $$
DECLARE
    me text := person();
BEGIN
    IF me IS NULL THEN
        IF p_by = 'system' AND pg_has_role(caller(), @rolename:owner@, 'MEMBER') THEN
            RETURN;
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'CGA01',
            MESSAGE = format('%s is not a person on this team store (callguide server person)', caller());
    END IF;
    IF p_by IS DISTINCT FROM me THEN
        RAISE EXCEPTION USING ERRCODE = 'CGA03',
            MESSAGE = format('%s may not write %s in the name of %s', me, p_what, p_by);
    END IF;
END
$$;

CREATE FUNCTION has_role(p_role text) RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = @schema@, pg_temp AS $$
    SELECT pg_has_role(caller(), p_role, 'MEMBER')
$$;

CREATE FUNCTION flow_version_insert() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = @schema@, pg_temp AS $$
BEGIN
    PERFORM check_author(NEW.created_by, 'a flow version');
    RETURN NEW;
END
$$;
CREATE TRIGGER flow_versions_author BEFORE INSERT ON flow_versions
    FOR EACH ROW EXECUTE FUNCTION flow_version_insert();

CREATE FUNCTION publication_log_insert() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = @schema@, pg_temp AS $$
DECLARE
    head text;
BEGIN
    PERFORM check_author(NEW.by_person, 'a publication decision');
    IF NEW.by_person <> 'system' THEN
        IF NEW.event = 'submitted' AND NOT has_role(@rolename:trainer@) THEN
            RAISE EXCEPTION USING ERRCODE = 'CGA02', MESSAGE = format('submitting needs the trainer role (%s)', NEW.by_person);
        ELSIF NEW.event IN ('approved', 'rejected') AND NOT has_role(@rolename:reviewer@) THEN
            RAISE EXCEPTION USING ERRCODE = 'CGA02', MESSAGE = format('%s needs the reviewer role (%s)', NEW.event, NEW.by_person);
        ELSIF NOT (has_role(@rolename:trainer@) OR has_role(@rolename:reviewer@) OR has_role(@rolename:supervisor@)) THEN
            RAISE EXCEPTION USING ERRCODE = 'CGA02', MESSAGE = format('%s may not publish flows', NEW.by_person);
        END IF;
    END IF;
    -- One writer at a time continues the chain (each statement below sees the rows committed before).
    PERFORM pg_advisory_xact_lock(hashtext(TG_TABLE_SCHEMA || '.publication_log'));
    SELECT hash INTO head FROM publication_log ORDER BY seq DESC LIMIT 1;
    IF NEW.prev_hash IS DISTINCT FROM coalesce(head, repeat('0', 64)) THEN
        RAISE EXCEPTION USING ERRCODE = 'CGF03',
            MESSAGE = 'the publication log moved on (another decision was recorded first); read it again';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER publication_log_chain BEFORE INSERT ON publication_log
    FOR EACH ROW EXECUTE FUNCTION publication_log_insert();

CREATE FUNCTION release_insert() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = @schema@, pg_temp AS $$
BEGIN
    PERFORM check_author(coalesce(person(), 'system'), 'a release');
    RETURN NEW;
END
$$;
CREATE TRIGGER releases_author BEFORE INSERT ON releases
    FOR EACH ROW EXECUTE FUNCTION release_insert();

CREATE FUNCTION flag_decision_insert() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = @schema@, pg_temp AS $$
BEGIN
    PERFORM check_author(NEW.by_person, 'a flag decision');
    RETURN NEW;
END
$$;
CREATE TRIGGER flag_decisions_author BEFORE INSERT ON flag_decisions
    FOR EACH ROW EXECUTE FUNCTION flag_decision_insert();

REVOKE ALL ON flow_versions, publication_log, releases, flag_decisions FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON flow_versions, publication_log, releases, flag_decisions FROM @owner@;
REVOKE ALL ON FUNCTION check_author(text, text), has_role(text) FROM PUBLIC;
-- Every desktop loads the live versions; everyone may read what is published and decided.
GRANT SELECT ON flow_versions, publication_log, releases, flag_decisions
    TO @role:agent@, @role:care_team@, @role:supervisor@, @role:trainer@, @role:reviewer@, @role:auditor@;
GRANT INSERT ON flow_versions, publication_log TO @role:trainer@, @role:reviewer@, @role:supervisor@;
GRANT INSERT ON releases TO @role:trainer@, @role:reviewer@;
GRANT INSERT ON flag_decisions TO @role:trainer@, @role:reviewer@;
