-- axiom-migrate: run-as=admin
--
-- 0027_change_steps_by_change - the steps of one change are found by its id, whatever the
-- number of changes before it.
--
-- Layer: none; no decision changes.
--
-- Why: an approval is refused as reviewer_cannot_approve when its actor reviewed the change
-- (axiom.change_transition, db/definitions/60_data_plane.sql), which reads the change's review
-- steps in axiom.change_request_steps. That table had no index but its primary key (step_seq),
-- so every approval read every step of every change ever made: 17-20 ms per approval with
-- 200,000 steps stored, and the work of approvals grew with the square of their number.
--
-- What changes: an index on change_id (0.16-0.2 ms with the same 200,000 steps). A change has
-- a handful of steps, so the rest of the condition is checked on those rows.

CREATE INDEX change_request_steps_change ON axiom.change_request_steps (change_id);
