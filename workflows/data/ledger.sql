-- ledger: accounts-payable supplier invoices (sqlite, inside the envelope).
-- Used by invoice_hold.writ (reads an invoice, sets status 'on_hold' with a reason).
-- Create with: sqlite3 ledger.db < ledger.sql
CREATE TABLE invoices (
  id          INTEGER PRIMARY KEY,
  supplier    TEXT NOT NULL,
  invoice_no  TEXT NOT NULL,
  po_number   TEXT,
  amount      REAL NOT NULL,
  currency    TEXT NOT NULL DEFAULT 'EUR',
  due_date    TEXT NOT NULL,
  status      TEXT NOT NULL DEFAULT 'approved' CHECK (status IN ('approved', 'on_hold', 'scheduled', 'paid')),
  hold_reason TEXT,
  UNIQUE (supplier, invoice_no)
);

INSERT INTO invoices (id, supplier, invoice_no, po_number, amount, currency, due_date, status, hold_reason) VALUES
  (5001, 'Acme Packaging BV',   'AP-2025-0311', 'PO-7781', 12480.00, 'EUR', '2025-03-28', 'approved',  NULL),
  (5002, 'Acme Packaging BV',   'AP-2025-0311B','PO-7781', 12480.00, 'EUR', '2025-03-28', 'approved',  NULL),
  (5003, 'Nordic Freight AS',   'NF-88120',     NULL,      3950.50,  'EUR', '2025-03-21', 'scheduled', NULL),
  (5004, 'Brightline Office',   'BL-4471',      'PO-7790', 612.30,   'EUR', '2025-04-02', 'approved',  NULL),
  (5005, 'Kestrel IT Services', 'KIT-2025-019', 'PO-7702', 28800.00, 'EUR', '2025-03-31', 'on_hold',   'awaiting signed SOW');
