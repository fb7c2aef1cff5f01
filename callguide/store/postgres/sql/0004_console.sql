-- CallGuide team store, migration 0004: the console for supervisors and the care team (issue 13 §3).
--
-- The console journals its actions (acknowledge, assign, note, resolve) as entries of its OWN
-- stream, exactly like a desktop: a local journal with its own hash chain, pushed by the sync
-- through ingest() (chain-checked, append-only). The entries name the escalation they act on by
-- `data.ref` ("desktop/seq") and `data.ref_hash`, and carry that escalation's call id and account.
-- A specialist review recorded from the console is an ordinary `capacity_review` (the same core
-- function as `callguide review capacity`), so every later call's protections see it.
--
-- This file adds: who may write console entries (a trigger), who may read them (policies), an
-- index to find an escalation's actions, and a NOTIFY on the escalations channel when an action
-- or a review arrives (the agent's window learns "Supervisor acknowledged: NAME" within 2 s).

-- The person's calls: the call was started by them (policies run this as the reading person).
CREATE FUNCTION my_call(p_call text) RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = @schema@, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM entries WHERE call_id = p_call AND agent = person() AND type = 'call_started')
$$;

-- Console entries only from a supervisor or a care-team member, writing as themselves, about an
-- escalation the team store holds (same call, same account, same hash). Reviews only from the
-- roles that may make them (engine/reviews.py: capacity and crisis: care team; dispute: care team
-- or supervisor), under their own name: an agent's desktop cannot close a protection.
CREATE FUNCTION check_console_entry() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = @schema@, pg_temp AS $$
DECLARE
    who name := caller();
    me text := person();
    care boolean := pg_has_role(caller(), @rolename:care_team@, 'MEMBER');
    sup boolean := pg_has_role(caller(), @rolename:supervisor@, 'MEMBER');
    target entries%ROWTYPE;
BEGIN
    IF NEW.type IN ('capacity_review', 'crisis_review') AND NOT care THEN
        RAISE EXCEPTION USING ERRCODE = 'CGA03',
            MESSAGE = format('%s may not record a %s (needs the care team role)', coalesce(me, who), NEW.type);
    END IF;
    IF NEW.type = 'dispute_review' AND NOT (care OR sup) THEN
        RAISE EXCEPTION USING ERRCODE = 'CGA03',
            MESSAGE = format('%s may not record a dispute review (needs the care team or supervisor role)',
                             coalesce(me, who));
    END IF;
    IF NEW.type IN ('capacity_review', 'crisis_review', 'dispute_review') THEN
        IF NEW.agent IS DISTINCT FROM me OR NEW.data->>'by' IS DISTINCT FROM me THEN
            RAISE EXCEPTION USING ERRCODE = 'CGA03',
                MESSAGE = format('a review is recorded by the person connected (%s), not %s', me, NEW.agent);
        END IF;
        RETURN NEW;
    END IF;
    -- the console's own types
    IF NOT (care OR sup) THEN
        RAISE EXCEPTION USING ERRCODE = 'CGA03',
            MESSAGE = format('%s may not write %s (needs the supervisor or care team role)', coalesce(me, who), NEW.type);
    END IF;
    IF NEW.agent IS DISTINCT FROM me OR NEW.data->>'by' IS DISTINCT FROM me THEN
        RAISE EXCEPTION USING ERRCODE = 'CGA03',
            MESSAGE = format('a console action is written by the person connected (%s), not %s', me, NEW.agent);
    END IF;
    SELECT * INTO target FROM entries
     WHERE desktop_id = split_part(NEW.data->>'ref', '/', 1)
       AND seq = nullif(split_part(NEW.data->>'ref', '/', 2), '')::bigint;
    IF NOT FOUND OR target.type <> 'escalation' OR target.hash <> NEW.data->>'ref_hash'
            OR target.call_id <> NEW.call_id OR target.account_id <> NEW.account_id THEN
        RAISE EXCEPTION USING ERRCODE = 'CGI02',
            MESSAGE = format('%s names escalation %s, which the team store does not hold as written',
                             NEW.type, NEW.data->>'ref');
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER entries_console_check BEFORE INSERT ON entries FOR EACH ROW
    WHEN (NEW.type IN ('escalation_acknowledged', 'escalation_assigned', 'escalation_note', 'escalation_resolved',
                       'capacity_review', 'crisis_review', 'dispute_review'))
    EXECUTE FUNCTION check_console_entry();

-- Tell the console and the agent's window (ids only, as for escalations; delivered at commit).
CREATE FUNCTION notify_console_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(@channel:escalations@,
                      json_build_object('account', NEW.account_id, 'desktop', NEW.desktop_id, 'seq', NEW.seq,
                                        'type', NEW.type, 'call', NEW.call_id)::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER entries_console_notify AFTER INSERT ON entries FOR EACH ROW
    WHEN (NEW.type IN ('escalation_acknowledged', 'escalation_assigned', 'escalation_note', 'escalation_resolved',
                       'capacity_review', 'crisis_review', 'dispute_review'))
    EXECUTE FUNCTION notify_console_entry();

-- An escalation's actions, and the open escalations (no `escalation_resolved` naming them).
CREATE INDEX entries_console_ref ON entries ((data->>'ref'))
    WHERE type IN ('escalation_acknowledged', 'escalation_assigned', 'escalation_note', 'escalation_resolved');
CREATE INDEX entries_escalations ON entries (at) WHERE type = 'escalation';

REVOKE ALL ON FUNCTION my_call(text), check_console_entry(), notify_console_entry() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION my_call(text)
    TO @role:agent@, @role:care_team@, @role:supervisor@, @role:trainer@, @role:reviewer@, @role:auditor@;

-- Supervisors read every console action (the queue); the care team reads those on the accounts
-- referred to it already (care_team_reads_referred_accounts, 0002).
CREATE POLICY supervisor_reads_console ON entries FOR SELECT TO @role:supervisor@
    USING (type IN ('escalation_acknowledged', 'escalation_assigned', 'escalation_note', 'escalation_resolved'));
-- An agent reads who acknowledged, took or resolved the escalations of their own calls (not the
-- notes: those are the supervisors' and the care team's).
CREATE POLICY agent_reads_acknowledgements ON entries FOR SELECT TO @role:agent@
    USING (type IN ('escalation_acknowledged', 'escalation_assigned', 'escalation_resolved') AND my_call(call_id));
