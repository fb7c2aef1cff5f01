-- CallGuide team store, migration 0003: the exact flow texts calls ran (by content hash), so an
-- auditor or another desktop can replay any call. Pushed by each desktop's sync with its entries.
CREATE TABLE flow_snapshots (
    flow_hash  text PRIMARY KEY,
    flow_id    text NOT NULL,
    version    text NOT NULL,
    text       text NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now(),
    CHECK (flow_hash ~ '^[0-9a-f]{64}$')
);
CREATE TRIGGER flow_snapshots_append_only BEFORE UPDATE OR DELETE ON flow_snapshots
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER flow_snapshots_no_truncate BEFORE TRUNCATE ON flow_snapshots
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Idempotent: the first text stored under a hash stays. (The hash is the sha256 of the file's
-- bytes, which may differ from the decoded text by a BOM, so it is not re-checked here.)
CREATE FUNCTION put_flow_snapshot(p_hash text, p_flow_id text, p_version text, p_text text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = @schema@, pg_temp AS $$
DECLARE
    added integer;
BEGIN
    IF person() IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'CGA01',
            MESSAGE = format('%s is not a person on this team store (callguide server person)', caller());
    END IF;
    INSERT INTO flow_snapshots (flow_hash, flow_id, version, text) VALUES (p_hash, p_flow_id, p_version, p_text)
        ON CONFLICT (flow_hash) DO NOTHING;
    GET DIAGNOSTICS added = ROW_COUNT;
    RETURN added > 0;
END
$$;

REVOKE ALL ON flow_snapshots FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON flow_snapshots FROM @owner@;
REVOKE ALL ON FUNCTION put_flow_snapshot(text, text, text, text) FROM PUBLIC;
GRANT SELECT ON flow_snapshots
    TO @role:agent@, @role:care_team@, @role:supervisor@, @role:trainer@, @role:reviewer@, @role:auditor@;
GRANT EXECUTE ON FUNCTION put_flow_snapshot(text, text, text, text)
    TO @role:agent@, @role:care_team@, @role:supervisor@;
