-- CallGuide team store, migration 0008: the agent's call starts, indexed.
--
-- The call window's notice "the step you flagged is changed" shows on the agent's first call after
-- the fix, so it needs the agent's previous call: `PostgresPublications.latest_call_start` (the
-- agent's latest `call_started` other than the current call, on any desktop that synced) and
-- `call_start`'s previous start. Both filter on (agent, type = 'call_started') and take the latest
-- by `at`; no index led there, so each read went through every call start of every agent
-- (`entries_call_bounds`) and filtered by agent: 161 ms at 1,000,000 entries, growing with the
-- store towards the notices' 2 s timeout. With this partial index it is one short backward scan of
-- the agent's own starts (1.2 ms at 1,000,000 entries). Reading is unchanged: row-level security
-- (0002's own_calls: an agent reads their own calls) still decides what a person sees.

CREATE INDEX entries_agent_call_starts ON entries (agent, at) WHERE type = 'call_started';
