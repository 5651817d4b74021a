-- Idempotent order creation: a client retrying POST /api/v1/orders with the same
-- Idempotency-Key gets the order it already made (NULL keys never conflict).
ALTER TABLE orders ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX orders_idempotency ON orders (owner, idempotency_key);
