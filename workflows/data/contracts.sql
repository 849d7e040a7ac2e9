-- contracts: the customer contract register (sqlite, inside the envelope).
-- Used by contract_renewal.writ, which only reads it to schedule a reminder elsewhere.
-- Create with: sqlite3 contracts.db < contracts.sql
CREATE TABLE contracts (
  id           INTEGER PRIMARY KEY,
  customer     TEXT    NOT NULL,
  start_date   TEXT    NOT NULL,
  end_date     TEXT    NOT NULL,
  notice_days  INTEGER NOT NULL,
  annual_value REAL    NOT NULL,
  auto_renews  TEXT    NOT NULL CHECK (auto_renews IN ('yes', 'no'))
);

INSERT INTO contracts (id, customer, start_date, end_date, notice_days, annual_value, auto_renews) VALUES
  (301, 'Northwind Traders', '2024-07-01', '2025-06-30', 60, 48000, 'no'),
  (302, 'Contoso Ltd',       '2023-10-01', '2025-09-30', 90, 125000, 'yes'),
  (303, 'Fabrikam Inc',      '2025-01-01', '2025-12-31', 30, 18500, 'no');
