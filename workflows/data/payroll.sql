-- payroll: employees, pay bands and review ratings (sqlite, inside the envelope).
-- Used by payroll_change.writ, which only READS it: payroll changes stay recommendations.
-- Create with: sqlite3 payroll.db < payroll.sql
CREATE TABLE pay_bands (
  band     TEXT PRIMARY KEY,
  band_min REAL NOT NULL,
  band_max REAL NOT NULL
);

CREATE TABLE employees (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL,
  job_title   TEXT NOT NULL,
  band        TEXT NOT NULL REFERENCES pay_bands (band),
  base_salary REAL NOT NULL
);

CREATE TABLE reviews (
  employee_id INTEGER NOT NULL REFERENCES employees (id),
  reviewed_on TEXT    NOT NULL,
  rating      TEXT    NOT NULL CHECK (rating IN ('below', 'meets', 'exceeds')),
  PRIMARY KEY (employee_id, reviewed_on)
);

INSERT INTO pay_bands (band, band_min, band_max) VALUES
  ('P2', 48000, 62000),
  ('P3', 60000, 78000),
  ('P4', 75000, 96000);

INSERT INTO employees (id, name, job_title, band, base_salary) VALUES
  (201, 'Aisha Okafor',  'Support Engineer',        'P2', 54000),
  (202, 'Tomas Lindqvist','Senior Support Engineer', 'P3', 76500),
  (203, 'Mei Tanaka',    'Finance Analyst',         'P3', 63000),
  (204, 'Rafael Duarte', 'Engineering Lead',        'P4', 94000);

INSERT INTO reviews (employee_id, reviewed_on, rating) VALUES
  (201, '2024-09-30', 'meets'),
  (201, '2025-03-31', 'exceeds'),
  (202, '2025-03-31', 'meets'),
  (203, '2025-03-31', 'below'),
  (204, '2025-03-31', 'exceeds');
