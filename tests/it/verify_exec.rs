//! A `verify exec` on an execute that writes a sqlite system runs as a program in the
//! workflow's folder, as the checker allows (found by a review of the connector trait: it was
//! sent to the sqlite connector and failed the write).

use crate::support::bed;

use bed::{Bed, HELPDESK_CONFIG};

const WORKFLOW: &str = r#"
workflow vx {
  owner ops_lead
  role support_lead, ops_lead
  system helpdesk: sqlite inside
  input ticket_id: int
  confirm lead_review {
    by support_lead
    shows ticket_id
    expires 4h -> reject
  }
  execute set_priority {
    after lead_review
    writes helpdesk
    risk medium
    approver support_lead
    capture sql "SELECT priority FROM tickets WHERE id = :ticket_id"
    run sql "UPDATE tickets SET priority = 'urgent' WHERE id = :ticket_id"
    verify exec "scripts/check" [ticket_id]
  }
  rollback restore_priority undoes set_priority {
    repair by ops_lead
    run sql "UPDATE tickets SET priority = :before.priority WHERE id = :ticket_id"
  }
}
"#;

#[test]
fn an_exec_verify_of_a_sqlite_write_runs() {
    let bed = Bed::new("verify-exec");
    bed.file("writ.yaml", HELPDESK_CONFIG);
    bed.file("vx.writ", WORKFLOW);
    bed.script("scripts/check", "#!/bin/sh\necho '{\"ok\": true}'\n");
    bed.helpdesk("helpdesk.db");
    let (out, run) = bed.start("vx.writ", &["ticket_id=101"], "ana");
    assert_eq!(out.code, Some(3), "{}", out.describe());
    assert_eq!(
        bed.writ(&["approve", &run, "lead_review", "--as", "sam"])
            .code,
        Some(0)
    );
    let resumed = bed.writ(&["resume", &run]);
    assert_eq!(resumed.code, Some(0), "{}", resumed.describe());
}
