-- CallGuide team store, migration 0002: who may see what (issue 13 §4, docs/team.md).
--
-- Every person connects as their own login role, a member of one or more group roles
-- (@role:agent@ ... @role:auditor@). Nobody gets INSERT, UPDATE or DELETE on the journal:
-- entries arrive only through ingest() (SECURITY DEFINER, chain-checked), and reading is filtered
-- by row-level security below. The owner role loses UPDATE/DELETE/TRUNCATE too; the triggers of
-- 0001 refuse them even to superusers.

REVOKE ALL ON SCHEMA @schema@ FROM PUBLIC;
GRANT USAGE ON SCHEMA @schema@ TO @role:agent@, @role:care_team@, @role:supervisor@, @role:trainer@,
    @role:reviewer@, @role:auditor@;

REVOKE ALL ON ALL TABLES IN SCHEMA @schema@ FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA @schema@ FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON entries, entry_details, account_reads FROM @owner@;

GRANT SELECT ON entries, entry_details, account_reads, desktops, people, protection_types, consent_scopes
    TO @role:agent@, @role:care_team@, @role:supervisor@, @role:trainer@, @role:reviewer@, @role:auditor@;

-- Helpers used by the policies run as the reading person.
GRANT EXECUTE ON FUNCTION caller(), person(), opened(text), referred(text), in_my_team(text),
    withdrawn_since(text, text[], timestamptz), latest(text)
    TO @role:agent@, @role:care_team@, @role:supervisor@, @role:trainer@, @role:reviewer@, @role:auditor@;
GRANT EXECUTE ON FUNCTION open_account(text)
    TO @role:agent@, @role:care_team@, @role:supervisor@, @role:auditor@;
GRANT EXECUTE ON FUNCTION ingest(text, bigint[], text[], text[], text[], text[], text[], text[], text[],
    text[], text[], text[], text[], text[], text[])
    TO @role:agent@, @role:care_team@, @role:supervisor@;

-- ---------------------------------------------------------------- the journal
ALTER TABLE entries ENABLE ROW LEVEL SECURITY;

-- Auditors read everything.
CREATE POLICY auditor_reads_all ON entries FOR SELECT TO @role:auditor@ USING (true);
-- Everyone who makes calls reads their own calls.
CREATE POLICY own_calls ON entries FOR SELECT TO @role:agent@, @role:care_team@, @role:supervisor@
    USING (agent = person());
-- The protections (the entry types account state is derived from; details redacted) of the
-- accounts the person opened (open_account, itself recorded).
CREATE POLICY protections_of_opened_accounts ON entries FOR SELECT
    TO @role:agent@, @role:care_team@, @role:supervisor@
    USING (type IN (SELECT pt.type FROM protection_types pt) AND opened(account_id));
-- The care team reads the accounts referred to it (a care-team escalation), whole.
CREATE POLICY care_team_reads_referred_accounts ON entries FOR SELECT TO @role:care_team@
    USING (referred(account_id));
-- Supervisors read every escalation, and their own team's calls.
CREATE POLICY supervisor_reads_escalations ON entries FOR SELECT TO @role:supervisor@
    USING (type = 'escalation');
CREATE POLICY supervisor_reads_team_calls ON entries FOR SELECT TO @role:supervisor@
    USING (in_my_team(agent));
-- Trainers and reviewers triage agents' flags on the wording of steps.
CREATE POLICY trainers_read_flags ON entries FOR SELECT TO @role:trainer@, @role:reviewer@
    USING (type = 'flag');

-- ---------------------------------------------------------------- special-category details
ALTER TABLE entry_details ENABLE ROW LEVEL SECURITY;

CREATE POLICY auditor_reads_all ON entry_details FOR SELECT TO @role:auditor@ USING (true);
-- The care team reads the details whose consent purpose admits the care team, on accounts
-- referred to it, until that purpose is withdrawn.
CREATE POLICY care_team_reads_consented ON entry_details FOR SELECT TO @role:care_team@
    USING (purposes && ARRAY(SELECT cs.purpose FROM consent_scopes cs WHERE cs.reader = 'care_team')
           AND referred(account_id)
           AND NOT withdrawn_since(account_id, purposes, at));

-- ---------------------------------------------------------------- who opened which account
ALTER TABLE account_reads ENABLE ROW LEVEL SECURITY;

CREATE POLICY auditor_reads_all ON account_reads FOR SELECT TO @role:auditor@ USING (true);
CREATE POLICY own_reads ON account_reads FOR SELECT
    TO @role:agent@, @role:care_team@, @role:supervisor@, @role:trainer@, @role:reviewer@
    USING (person_id = person());
