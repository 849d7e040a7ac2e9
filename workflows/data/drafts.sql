-- drafts: the outbound customer-email drafts queue (sqlite, OUTSIDE the envelope).
-- Used by email_draft_queue.writ, which inserts queued drafts; agents send them by hand.
-- Create with: sqlite3 drafts.db < drafts.sql
CREATE TABLE drafts (
  id         INTEGER PRIMARY KEY,
  draft_ref  TEXT NOT NULL UNIQUE,
  ticket_id  INTEGER NOT NULL,
  to_address TEXT NOT NULL,
  subject    TEXT NOT NULL,
  body       TEXT NOT NULL,
  status     TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'discarded')),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

INSERT INTO drafts (draft_ref, ticket_id, to_address, subject, body, status, created_at) VALUES
  ('T104-friendly', 104, 'sam@tailspin.example', 'Re: Feature request: export to CSV',
   'Hi Sam, thanks for the suggestion. CSV export is on our roadmap; we will let you know when it ships.',
   'sent', '2025-03-02T17:02:00Z');
