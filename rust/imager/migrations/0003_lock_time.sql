-- When a configuration's stored lock was computed (Unix seconds): an order within the
-- hour reuses it instead of evaluating and asking the catalog again.
ALTER TABLE configurations ADD COLUMN locked BIGINT;
