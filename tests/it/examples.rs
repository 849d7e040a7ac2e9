//! Examples cannot rot: every workflow in `workflows/` checks clean, and every `writ explain`
//! entry's examples do what they say (the bad one raises its code, the fixed one nothing).

use std::fs;
use std::path::Path;

#[test]
fn every_example_workflow_checks_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
    let mut checked = 0;
    for entry in fs::read_dir(&dir).expect("workflows/ exists") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "writ") {
            continue;
        }
        let source = fs::read_to_string(&path).expect("UTF-8");
        let result = writ::check_source(&source);
        let codes: Vec<String> = result
            .diagnostics
            .iter()
            .map(|d| format!("{}: {}", d.code, d.message))
            .collect();
        assert!(codes.is_empty(), "{}: {codes:#?}", path.display());
        assert!(result.workflow.is_some());
        assert!(
            source.trim_start().starts_with("//"),
            "{} needs a header comment",
            path.display()
        );
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} example workflows");
}

#[test]
fn explain_examples_do_what_they_say() {
    for code in writ::Code::ALL {
        let (bad, fixed) =
            writ::explain::examples(code).unwrap_or_else(|| panic!("{code} has examples"));
        let bad_codes: Vec<_> = writ::check_source(bad)
            .diagnostics
            .iter()
            .map(|d| d.code)
            .collect();
        assert!(
            bad_codes.contains(&code),
            "{code}: the bad example gives {bad_codes:?}"
        );
        let fixed_result = writ::check_source(fixed);
        let fixed_codes: Vec<String> = fixed_result
            .diagnostics
            .iter()
            .map(|d| format!("{}: {}", d.code, d.message))
            .collect();
        assert!(
            fixed_codes.is_empty(),
            "{code}: the fixed example gives {fixed_codes:#?}"
        );
    }
}
