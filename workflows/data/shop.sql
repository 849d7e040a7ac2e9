-- shop: customer orders (sqlite, inside the envelope).
-- Used by refund_approval.writ (reads an order and the customer's recent refunds,
-- then marks the order refunded after the payment gateway has refunded it).
-- Create with: sqlite3 shop.db < shop.sql
CREATE TABLE orders (
  id             INTEGER PRIMARY KEY,
  customer_email TEXT NOT NULL,
  total          REAL NOT NULL,
  status         TEXT NOT NULL CHECK (status IN ('paid', 'shipped', 'delivered', 'refunded', 'cancelled')),
  paid_at        TEXT NOT NULL,
  refund_amount  REAL,
  refunded_at    TEXT
);

INSERT INTO orders (id, customer_email, total, status, paid_at, refund_amount, refunded_at) VALUES
  (9001, 'kim@adventure.example',  149.90, 'delivered', '2025-02-20T10:31:00Z', NULL,  NULL),
  (9002, 'kim@adventure.example',   39.00, 'refunded',  '2025-01-05T09:00:00Z', 39.00, '2025-01-12 14:00:00'),
  (9003, 'li@contoso.example',     820.00, 'shipped',   '2025-03-01T16:45:00Z', NULL,  NULL),
  (9004, 'dana@northwind.example',  24.50, 'paid',      '2025-03-03T07:55:00Z', NULL,  NULL);
