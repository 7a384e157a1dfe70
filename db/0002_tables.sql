-- 0002_tables - the regulated tables (docs/security-layers.md and docs/esignatures.md), owned by axiom_owner.
--
-- Layer: 5 (SCD Type 2 versioning) by the shape of the tables; privileges, triggers and RLS
-- come in 0004 and 0005. Conventions:
--   * every time that a decision depends on is an event time (the broker's append time of
--     the command), never the wall clock of the database, so a replay makes the same rows;
--   * tables are append-only except for the few lifecycle columns named in 0004, which are
--     the only columns axiom_definer may UPDATE;
--   * identifiers of people, facilities and domains are short stable text keys; identifiers
--     of records, versions, changes, grants and signatures are UUIDs chosen upstream.

-- Configuration ---------------------------------------------------------------------------

-- The ordered access levels (docs/security-layers.md); a higher rank includes the lower ones.
CREATE TABLE axiom.access_tiers (
	tier text PRIMARY KEY CHECK (tier ~ '^[a-z][a-z_]{0,31}$'),
	rank integer NOT NULL UNIQUE CHECK (rank > 0)
);
INSERT INTO axiom.access_tiers (tier, rank) VALUES
	('viewer', 1), ('technician', 2), ('author', 3), ('reviewer', 4), ('manager', 5);

CREATE TABLE axiom.users (
	user_id text PRIMARY KEY CHECK (user_id ~ '^[a-z0-9][a-z0-9._@-]{0,127}$'),
	printed_name text NOT NULL CHECK (printed_name <> ''),
	administrator boolean NOT NULL DEFAULT false, -- may run control-plane commands
	db_role name UNIQUE,                          -- the database login this person reads through
	enrolled_at timestamptz NOT NULL,
	enrolled_by text NOT NULL,
	deactivated_at timestamptz,                   -- lifecycle column
	CHECK (deactivated_at IS NULL OR deactivated_at >= enrolled_at)
);

-- The bootstrap administrator: the only identity that exists before the first control
-- command; it enrolls the first people. Its event time is the epoch so it governs every
-- later command on replay.
INSERT INTO axiom.users (user_id, printed_name, administrator, enrolled_at, enrolled_by)
VALUES ('axiom-system', 'Axiom bootstrap administrator', true, 'epoch', 'axiom-system');

CREATE TABLE axiom.facilities (
	facility_id text PRIMARY KEY CHECK (facility_id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
	name text NOT NULL,
	defined_at timestamptz NOT NULL,
	defined_by text NOT NULL REFERENCES axiom.users
);

CREATE TABLE axiom.domains (
	domain_id text PRIMARY KEY CHECK (domain_id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
	name text NOT NULL,
	defined_at timestamptz NOT NULL,
	defined_by text NOT NULL REFERENCES axiom.users
);

-- Grants and delegations, one temporal table: a delegation is a grant with kind
-- 'horizontal' or 'vertical' and a source grant. Valid from valid_from (exclusive: a control
-- event at c governs data commands at T > c) until expires_at (exclusive) or revoked_at.
CREATE TABLE axiom.grants (
	grant_id uuid PRIMARY KEY,
	user_id text NOT NULL REFERENCES axiom.users,
	facility_id text NOT NULL REFERENCES axiom.facilities,
	domain_id text NOT NULL REFERENCES axiom.domains,
	tier text NOT NULL REFERENCES axiom.access_tiers,
	kind text NOT NULL CHECK (kind IN ('direct', 'horizontal', 'vertical')),
	source_grant_id uuid REFERENCES axiom.grants,
	granted_by text NOT NULL REFERENCES axiom.users,
	reason text NOT NULL CHECK (btrim(reason) <> ''),
	valid_from timestamptz NOT NULL,
	expires_at timestamptz,
	revoked_at timestamptz,             -- lifecycle column
	revoked_by text REFERENCES axiom.users, -- lifecycle column
	revoke_reason text,                 -- lifecycle column
	CHECK ((kind = 'direct') = (source_grant_id IS NULL)),
	CHECK (kind = 'direct' OR expires_at IS NOT NULL),
	CHECK (expires_at IS NULL OR expires_at > valid_from),
	CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
CREATE INDEX grants_user_scope ON axiom.grants (user_id, facility_id, domain_id);
CREATE INDEX grants_source ON axiom.grants (source_grant_id) WHERE source_grant_id IS NOT NULL;

-- Record types and their review gate (docs/security-layers.md):
--   none            versions are created directly (new_version); no change request needed
--   approve         draft -> submitted -> approved -> applied
--   review_approve  draft -> submitted -> reviewed -> approved -> applied
CREATE TABLE axiom.record_types (
	record_type text PRIMARY KEY CHECK (record_type ~ '^[a-z][a-z0-9_.-]{0,63}$'),
	domain_id text NOT NULL REFERENCES axiom.domains,
	gate text NOT NULL CHECK (gate IN ('none', 'approve', 'review_approve')), -- lifecycle column
	configured_at timestamptz NOT NULL, -- lifecycle column
	configured_by text NOT NULL REFERENCES axiom.users -- lifecycle column
);

-- Controlled records, SCD Type 2 --------------------------------------------------------

-- One row per version. record_hash = SHA-256(canonical encoding v1 of the row), see
-- docs/canonical-encoding.md; the BEFORE INSERT trigger (0004) computes it and checks the
-- link to the lineage's head. Every column except the three status columns is immutable.
CREATE TABLE axiom.records (
	record_id uuid PRIMARY KEY,         -- this version
	id uuid NOT NULL,                   -- the lineage
	version bigint NOT NULL CHECK (version >= 1),
	previous_record_id uuid,
	previous_record_hash bytea CHECK (octet_length(previous_record_hash) = 32),
	record_hash bytea NOT NULL CHECK (octet_length(record_hash) = 32),
	record_type text NOT NULL REFERENCES axiom.record_types,
	facility_id text NOT NULL REFERENCES axiom.facilities,
	domain_id text NOT NULL REFERENCES axiom.domains,
	title text NOT NULL,
	content bytea NOT NULL CHECK (octet_length(content) <= 67108864),
	created_by text NOT NULL REFERENCES axiom.users,
	created_at timestamptz NOT NULL,    -- event time of the command
	change_id uuid,                     -- the change request that produced it, if any
	status text NOT NULL DEFAULT 'draft'
	    CHECK (status IN ('draft', 'effective', 'retired')), -- lifecycle column
	status_changed_at timestamptz,      -- lifecycle column
	status_changed_by text REFERENCES axiom.users, -- lifecycle column
	UNIQUE (id, version),
	CHECK ((version = 1) = (previous_record_id IS NULL)),
	CHECK ((version = 1) = (previous_record_hash IS NULL))
);

-- Change management (docs/security-layers.md) -------------------------------------------------

CREATE TABLE axiom.change_requests (
	change_id uuid PRIMARY KEY,
	id uuid NOT NULL,                    -- target lineage
	base_version bigint NOT NULL,        -- the head the change was based on
	base_record_hash bytea NOT NULL,
	record_type text NOT NULL REFERENCES axiom.record_types,
	facility_id text NOT NULL REFERENCES axiom.facilities,
	domain_id text NOT NULL REFERENCES axiom.domains,
	title text NOT NULL,
	content bytea NOT NULL CHECK (octet_length(content) <= 67108864),
	author text NOT NULL REFERENCES axiom.users,
	reason text NOT NULL CHECK (btrim(reason) <> ''),
	proposed_at timestamptz NOT NULL,
	status text NOT NULL CHECK (status IN
	    ('draft', 'submitted', 'reviewed', 'approved', 'rejected', 'applied')), -- lifecycle
	status_changed_at timestamptz NOT NULL, -- lifecycle column
	applied_record_id uuid                  -- lifecycle column
);

-- Every step of a change, append-only: who, when (event time), why.
CREATE TABLE axiom.change_request_steps (
	step_seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	change_id uuid NOT NULL REFERENCES axiom.change_requests,
	step text NOT NULL CHECK (step IN
	    ('propose', 'submit', 'review', 'approve', 'reject', 'apply')),
	from_status text,
	to_status text NOT NULL,
	actor text NOT NULL REFERENCES axiom.users,
	event_time timestamptz NOT NULL,
	reason text NOT NULL CHECK (btrim(reason) <> ''),
	facility_id text NOT NULL,
	domain_id text NOT NULL
);

-- Electronic signatures (docs/esignatures.md) ---------------------------------------------

CREATE TABLE axiom.signatures (
	signature_id uuid PRIMARY KEY,
	record_id uuid NOT NULL REFERENCES axiom.records,
	id uuid NOT NULL,
	version bigint NOT NULL,
	record_hash bytea NOT NULL,
	facility_id text NOT NULL,
	domain_id text NOT NULL,
	signer text NOT NULL REFERENCES axiom.users,
	printed_name text NOT NULL,          -- manifestation (Part 11 section 11.50)
	signed_at timestamptz NOT NULL,      -- event time
	meaning text NOT NULL CHECK (meaning IN ('authorship', 'review', 'approval', 'responsibility')),
	intent_hash bytea NOT NULL CHECK (octet_length(intent_hash) = 32),
	factor_types text[] NOT NULL CHECK (cardinality(factor_types) >= 1),
	proofs bytea NOT NULL                -- raw proofs, for offline re-verification
);

-- Audit trail: every operation, accepted or rejected, append-only -------------------------

CREATE TABLE axiom.session_events (
	event_seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	actor text NOT NULL,
	event_time timestamptz NOT NULL,
	operation text NOT NULL,
	decision text NOT NULL CHECK (decision IN ('accepted', 'rejected')),
	reason_code text,
	reason text,
	command_id uuid,
	object_id uuid,       -- lineage, change, grant, signature or delegation concerned
	old_record_id uuid,   -- the version before the operation, if any
	new_record_id uuid,   -- the version the operation created, if any
	facility_id text,
	domain_id text
);

-- Per-partition ledger and offsets (docs/canonical-encoding.md and docs/architecture.md) ---------------------------

CREATE TABLE axiom.ledger (
	topic text NOT NULL,
	kafka_partition integer NOT NULL CHECK (kafka_partition >= 0),
	seq bigint NOT NULL CHECK (seq >= 1),
	kafka_offset bigint NOT NULL CHECK (kafka_offset >= 0),
	command_id uuid,
	actor text,
	event_time timestamptz NOT NULL,
	decision text NOT NULL CHECK (decision IN ('accepted', 'rejected', 'quarantined')),
	reason_code text,
	record_hash bytea,
	previous_entry_hash bytea NOT NULL CHECK (octet_length(previous_entry_hash) = 32),
	entry_hash bytea NOT NULL CHECK (octet_length(entry_hash) = 32),
	PRIMARY KEY (topic, kafka_partition, seq),
	UNIQUE (topic, kafka_partition, kafka_offset)
);

CREATE TABLE axiom.partition_offsets (
	topic text NOT NULL,
	kafka_partition integer NOT NULL CHECK (kafka_partition >= 0),
	next_offset bigint NOT NULL CHECK (next_offset >= 0), -- lifecycle column
	updated_by text NOT NULL,                             -- lifecycle column
	PRIMARY KEY (topic, kafka_partition)
);
