-- helpdesk: the support ticket system (sqlite, inside the envelope).
-- Used by ticket_triage.writ (reads + writes tickets.priority) and
-- email_draft_queue.writ (reads a ticket to answer it).
-- Create with: sqlite3 helpdesk.db < helpdesk.sql
CREATE TABLE tickets (
  id             INTEGER PRIMARY KEY,
  subject        TEXT    NOT NULL,
  customer_email TEXT    NOT NULL,
  priority       TEXT    NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'urgent')),
  status         TEXT    NOT NULL DEFAULT 'open'   CHECK (status IN ('open', 'pending', 'closed')),
  opened_at      TEXT    NOT NULL
);

INSERT INTO tickets (id, subject, customer_email, priority, status, opened_at) VALUES
  (101, 'Cannot log in after password reset',        'dana@northwind.example',  'normal', 'open',    '2025-03-03T08:12:00Z'),
  (102, 'Invoice PDF shows wrong VAT number',         'li@contoso.example',      'low',    'open',    '2025-03-03T09:40:00Z'),
  (103, 'Checkout returns 500 for all EU customers',  'ops@fabrikam.example',    'normal', 'open',    '2025-03-03T10:05:00Z'),
  (104, 'Feature request: export to CSV',             'sam@tailspin.example',    'normal', 'pending', '2025-03-02T16:21:00Z'),
  (105, 'Refund not received after 14 days',          'kim@adventure.example',   'low',    'open',    '2025-03-01T12:00:00Z');
