//! `writ.yaml`: the documented forms load, relative paths start from the config's folder, and
//! every kind of bad input is an error with its line, column, message and help, never a panic.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use writ::runtime::config::{
    self, Auth, Config, ConfigError, HttpConfig, Limits, Position, Secret, SystemConfig,
};

/// The example of docs/config.md.
const DESIGN_EXAMPLE: &str = "\
state: .writ/state.db          # the store
people:
  ana:   [analyst]
  sam:   [support_lead]
  olu:   [ops_lead]
systems:
  helpdesk: { sqlite: data/helpdesk.db }
  crm:      { http: \"http://127.0.0.1:8080/api\", token_env: CRM_TOKEN }
";

/// Every form the module documents.
const FULL_EXAMPLE: &str = "\
state: .writ/state.db
people:
  ana: [analyst]
  sam: [support_lead, analyst]
systems:
  helpdesk: { sqlite: data/helpdesk.db }
  crm: { http: \"http://127.0.0.1:8080/api\", token_env: CRM_TOKEN, timeout: 10s }
  notifier: { exec: scripts }
  mailer:
    exec: ~
limits: { step_timeout: 15m, concurrency: 4 }
";

fn parse(text: &str) -> Result<Config, ConfigError> {
    config::parse(text, Path::new("/srv/writ/writ.yaml"))
}

/// What an error says: (message, line, column, help).
fn fails(text: &str) -> (String, usize, usize, String) {
    let error = match parse(text) {
        Ok(config) => panic!("expected an error for {text:?}, got {config:?}"),
        Err(error) => error,
    };
    let Some(Position { line, column }) = error.position() else {
        panic!("no position for {text:?}: {error}");
    };
    (error.to_string(), line, column, error.help_text())
}

/// A config with `rest` after valid `state` and `people` (lines 1-3).
fn with(rest: &str) -> String {
    format!("state: s.db\npeople:\n  ana: [analyst]\n{rest}")
}

/// The error rendered as the CLI shows it, without colour.
fn rendered(error: ConfigError) -> String {
    let report = miette::Report::new(error);
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, report.as_ref())
        .expect("renders");
    out
}

/// A fresh directory under the target dir.
fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("config-{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

#[test]
fn the_design_example_loads() {
    let config = parse(DESIGN_EXAMPLE).expect("loads");
    assert_eq!(config.state, Path::new("/srv/writ/.writ/state.db"));
    assert_eq!(config.roles_of("olu"), Some(&["ops_lead".to_owned()][..]));
    assert_eq!(
        config.systems["helpdesk"],
        SystemConfig::Sqlite {
            path: PathBuf::from("/srv/writ/data/helpdesk.db")
        }
    );
    assert_eq!(
        config.systems["crm"],
        SystemConfig::Http(HttpConfig {
            base_url: "http://127.0.0.1:8080/api".to_owned(),
            auth: Some(Auth::Bearer(Secret::Env("CRM_TOKEN".to_owned()))),
            timeout: None,
            ..HttpConfig::default()
        })
    );
    assert_eq!(config.limits, Limits::default());
    assert_eq!(config.limits.step_timeout, Duration::from_secs(30));
    assert_eq!(config.limits.concurrency, 16);
    assert_eq!(config.path, Path::new("/srv/writ/writ.yaml"));
}

#[test]
fn every_documented_form_loads() {
    let config = parse(FULL_EXAMPLE).expect("loads");
    assert!(config.has_role("sam", "analyst"));
    assert!(config.has_role("sam", "support_lead"));
    assert!(!config.has_role("ana", "support_lead"));
    assert!(!config.has_role("nobody", "analyst"));
    assert_eq!(config.roles_of("nobody"), None);
    assert_eq!(
        config.systems["crm"],
        SystemConfig::Http(HttpConfig {
            base_url: "http://127.0.0.1:8080/api".to_owned(),
            auth: Some(Auth::Bearer(Secret::Env("CRM_TOKEN".to_owned()))),
            timeout: Some(Duration::from_secs(10)),
            ..HttpConfig::default()
        })
    );
    assert_eq!(
        config.systems["notifier"],
        SystemConfig::Exec {
            workdir: Some(PathBuf::from("/srv/writ/scripts")),
            grants: writ::runtime::sandbox::Grants::none(),
        }
    );
    assert_eq!(
        config.systems["mailer"],
        SystemConfig::Exec {
            workdir: None,
            grants: writ::runtime::sandbox::Grants::none(),
        }
    );
    assert_eq!(
        config.limits,
        Limits {
            step_timeout: Duration::from_secs(900),
            concurrency: 4
        }
    );
}

#[test]
fn systems_and_limits_are_optional_and_people_may_be_empty() {
    let config = parse("state: s.db\npeople: {}\n").expect("loads");
    assert!(config.people.is_empty());
    assert!(config.systems.is_empty());
    assert_eq!(config.limits, Limits::default());
}

#[test]
fn relative_paths_start_from_the_config_folder() {
    let text = "state: state.db\npeople: {}\nsystems:\n  a: { sqlite: ../a.db }\n  b: { sqlite: /abs/b.db }\n";
    let config = config::parse(text, Path::new("deploy/writ.yaml")).expect("loads");
    assert_eq!(config.state, Path::new("deploy/state.db"));
    assert_eq!(
        config.systems["a"],
        SystemConfig::Sqlite {
            path: PathBuf::from("deploy/../a.db")
        }
    );
    assert_eq!(
        config.systems["b"],
        SystemConfig::Sqlite {
            path: PathBuf::from("/abs/b.db")
        }
    );
    // A config named without a folder: paths stay relative to the working directory.
    let config = config::parse(text, Path::new("writ.yaml")).expect("loads");
    assert_eq!(config.state, Path::new("state.db"));
}

#[test]
fn load_reads_the_file() {
    let dir = temp_dir("load");
    let path = dir.join("writ.yaml");
    fs::write(&path, DESIGN_EXAMPLE).expect("write");
    let config = config::load(&path).expect("loads");
    assert_eq!(config.state, dir.join(".writ/state.db"));
    assert_eq!(config.path, path);
}

#[test]
fn a_missing_file_is_a_read_error() {
    let path = temp_dir("missing").join("writ.yaml");
    let error = config::load(&path).expect_err("missing");
    assert!(matches!(error, ConfigError::Read { .. }), "{error:?}");
    assert!(error.to_string().starts_with("cannot read the config `"));
    assert!(error.help_text().contains("--config PATH"));
    // A folder is not a config either.
    let error = config::load(path.parent().expect("folder")).expect_err("folder");
    assert!(matches!(error, ConfigError::Read { .. }), "{error:?}");
}

#[test]
fn a_file_over_one_mebibyte_is_refused() {
    let path = temp_dir("large").join("writ.yaml");
    let mut text = DESIGN_EXAMPLE.to_owned();
    text.push_str(&"# padding\n".repeat(110_000));
    fs::write(&path, &text).expect("write");
    let error = config::load(&path).expect_err("too large");
    assert!(
        matches!(error, ConfigError::TooLarge { size, .. } if size == text.len() as u64),
        "{error:?}"
    );
    assert!(error.to_string().contains("over the limit of 1 MiB"));
    let error = parse(&text).expect_err("too large");
    assert!(matches!(error, ConfigError::TooLarge { .. }), "{error:?}");
}

#[test]
fn invalid_utf8_is_refused_with_its_line() {
    let path = temp_dir("utf8").join("writ.yaml");
    fs::write(&path, b"state: s.db\npeople:\n  an\xffa: [x]\n").expect("write");
    let error = config::load(&path).expect_err("not UTF-8");
    assert!(
        matches!(
            error,
            ConfigError::NotUtf8 {
                offset: 24,
                line: 3,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.help_text(), "save the file as UTF-8");
}

#[test]
fn an_unknown_key_is_an_error_with_a_suggestion() {
    let (message, line, column, help) = fails(&with("limits: { step_timout: 30s }\n"));
    assert_eq!(message, "unknown key `step_timout` in `limits`");
    assert_eq!((line, column), (4, 11));
    assert_eq!(help, "did you mean `step_timeout`?");

    let (message, line, _, help) = fails(&with("owner: ana\n"));
    assert_eq!(message, "unknown key `owner` in the config");
    assert_eq!(line, 4);
    assert_eq!(
        help,
        "the keys here are `state`, `signers`, `identity`, `people`, `systems`, `limits`, `sandbox` and `notify`"
    );

    let (message, line, column, help) = fails(&with(
        "systems:\n  crm: { http: \"http://x\", tokn_env: T }\n",
    ));
    assert_eq!(message, "unknown key `tokn_env` in system `crm`");
    assert_eq!((line, column), (5, 28));
    assert_eq!(help, "did you mean `token_env`?");
}

#[test]
fn a_repeated_key_or_name_is_an_error() {
    let (message, line, _, help) = fails(&with("state: t.db\n"));
    assert_eq!(message, "`state` is given twice in the config");
    assert_eq!(line, 4);
    assert_eq!(help, "keep one of them");

    let (message, line, column, _) = fails(&with("  ana: [ops]\n"));
    assert_eq!(message, "person `ana` is listed twice");
    assert_eq!((line, column), (4, 3));

    let (message, line, column, _) = fails("state: s\npeople:\n  ana: [a, b, a]\n");
    assert_eq!(message, "role `a` is listed twice for `ana`");
    assert_eq!((line, column), (3, 15));
}

#[test]
fn a_wrong_type_is_an_error() {
    let (message, line, column, help) = fails("state: s.db\npeople:\n  ana: analyst\n");
    assert_eq!(
        message,
        "in `people.ana`: invalid type: string \"analyst\", expected a list of roles, like `[analyst]`"
    );
    assert_eq!((line, column), (3, 8));
    assert!(help.starts_with("write the value in the form the message names"));

    let (message, line, _, _) = fails("- state\n- people\n");
    assert!(message.starts_with("invalid type: sequence, expected a mapping"));
    assert_eq!(line, 1);

    let (message, line, _, _) = fails("state: [a]\npeople: {}\n");
    assert_eq!(
        message,
        "in `state`: invalid type: sequence, expected text for `state`"
    );
    assert_eq!(line, 1);
}

#[test]
fn state_and_people_are_required() {
    let (message, line, _, help) = fails("people: {}\n");
    assert_eq!(
        message,
        "the config has no `state` (`/srv/writ/writ.yaml` line 1)"
    );
    assert_eq!(line, 1);
    assert_eq!(
        help,
        "add `state:` at the top level, like `state: .writ/state.db`"
    );

    let (message, _, _, help) = fails("state: s.db\n");
    assert_eq!(
        message,
        "the config has no `people` (`/srv/writ/writ.yaml` line 1)"
    );
    assert_eq!(
        help,
        "add `people:` at the top level, like `people: { ana: [analyst] }`"
    );

    let (message, line, _, _) = fails("state: ~\npeople: {}\n");
    assert_eq!(message, "`state` is empty");
    assert_eq!(line, 1);

    let (message, _, _, _) = fails("");
    assert_eq!(
        message,
        "the config has no `state` (`/srv/writ/writ.yaml` line 1)"
    );
}

#[test]
fn a_person_needs_a_role() {
    let (message, line, column, help) = fails("state: s\npeople:\n  ana: []\n");
    assert_eq!(message, "`ana` has no roles");
    assert_eq!((line, column), (3, 8));
    assert_eq!(
        help,
        "give at least one role, like `ana: [analyst]`, or remove the person"
    );
    let (message, line, _, _) = fails("state: s\npeople:\n  ana:\n");
    assert_eq!(message, "`ana` has no roles");
    assert_eq!(line, 3);
}

#[test]
fn names_must_be_identifiers() {
    let (message, line, column, help) = fails("state: s\npeople:\n  ana-maria: [a]\n");
    assert_eq!(message, "person name `ana-maria` is not a name");
    assert_eq!((line, column), (3, 3));
    assert_eq!(
        help,
        "a person name is a letter or `_`, then letters, digits or `_`, like `support_lead`"
    );

    let (message, line, column, _) = fails("state: s\npeople:\n  ana: [analyst, 2nd]\n");
    assert_eq!(message, "role name `2nd` is not a name");
    assert_eq!((line, column), (3, 18));

    let (message, line, _, _) = fails(&with("systems:\n  \"my crm\": { http: \"http://x\" }\n"));
    assert_eq!(message, "system name `my crm` is not a name");
    assert_eq!(line, 5);

    let long = "a".repeat(65);
    let (message, _, _, help) = fails(&format!("state: s\npeople:\n  {long}: [a]\n"));
    assert_eq!(
        message,
        format!("person name `{}…` is too long", &long[..64])
    );
    assert_eq!(help, "a person name has at most 64 characters");
}

#[test]
fn a_system_has_exactly_one_connector() {
    let (message, line, column, help) = fails(&with(
        "systems:\n  crm: { sqlite: a.db, http: \"http://x\" }\n",
    ));
    assert_eq!(
        message,
        "system `crm` has two connectors, `sqlite` and `http`"
    );
    assert_eq!((line, column), (5, 24));
    assert_eq!(
        help,
        "a system is reached one way: keep one, or declare a second system"
    );

    let (message, line, _, help) = fails(&with("systems:\n  crm:\n    token_env: CRM_TOKEN\n"));
    assert_eq!(message, "system `crm` has no connector");
    assert_eq!(line, 6);
    assert_eq!(
        help,
        "give one of `sqlite: PATH`, `http: URL` or `exec: FOLDER`"
    );

    let (message, _, _, help) = fails(&with("systems:\n  crm: { sqlite: a.db, timeout: 5s }\n"));
    assert_eq!(
        message,
        "`timeout` is only for `http` systems, and `crm` is not one"
    );
    assert_eq!(help, "remove `timeout` from system `crm`");

    let (message, _, _, _) = fails(&with("systems:\n  crm: sqlite\n"));
    assert!(message.starts_with("in `systems.crm`: invalid type: string \"sqlite\""));
}

#[test]
fn an_http_url_needs_its_scheme() {
    let (message, line, column, help) =
        fails(&with("systems:\n  crm: { http: \"127.0.0.1:8080\" }\n"));
    assert_eq!(
        message,
        "`127.0.0.1:8080` is not an `http://` or `https://` URL"
    );
    assert_eq!((line, column), (5, 16));
    assert_eq!(
        help,
        "write the base URL with its scheme: `http: \"https://crm.example.com/api\"`"
    );

    let (message, _, _, help) = fails(&with(
        "systems:\n  crm: { http: \"https://bot:hunter2@crm/api\" }\n",
    ));
    assert_eq!(
        message,
        "the `http` URL holds credentials (`/srv/writ/writ.yaml` line 5)"
    );
    assert!(help.contains("`token_env`"), "{help}");
    let error = parse(&with(
        "systems:\n  crm: { http: \"https://bot:hunter2@crm/api\" }\n",
    ));
    let out = rendered(error.expect_err("credentials"));
    assert!(!out.contains("hunter2"), "the password is shown: {out}");
}

#[test]
fn a_secret_in_the_file_is_refused() {
    let (message, line, column, help) = fails(&with(
        "systems:\n  crm:\n    http: \"http://x\"\n    token: s3cret\n",
    ));
    assert_eq!(
        message,
        "system `crm` has a secret in the file: `token` (`/srv/writ/writ.yaml` line 7)"
    );
    assert_eq!((line, column), (7, 5));
    assert!(help.contains("`auth: { bearer_env"), "{help}");
    assert!(
        help.starts_with("secrets are never in `writ.yaml`"),
        "{help}"
    );
    let error = parse(&with(
        "systems:\n  crm: { http: \"http://x\", token: s3cret }\n",
    ));
    let out = rendered(error.expect_err("a secret"));
    assert!(!out.contains("s3cret"), "the secret is shown: {out}");
}

#[test]
fn token_env_must_be_a_variable_name() {
    let (message, line, column, help) = fails(&with(
        "systems:\n  crm: { http: \"http://x\", token_env: \"abc def\" }\n",
    ));
    assert_eq!(
        message,
        "`token_env` `abc def` is not an environment variable name"
    );
    assert_eq!((line, column), (5, 39));
    assert!(help.contains("like `CRM_TOKEN`"), "{help}");
}

#[test]
fn durations_are_a_number_and_a_unit() {
    let (message, line, column, help) = fails(&with("limits: { step_timeout: 30 }\n"));
    assert_eq!(message, "`step_timeout` `30` is not a duration");
    assert_eq!((line, column), (4, 25));
    assert_eq!(
        help,
        "write a whole number and a unit `s`, `m`, `h` or `d`: `30s`, `15m`, `4h`, `28d`"
    );

    let (message, _, _, _) = fails(&with("limits: { step_timeout: 1h30m }\n"));
    assert_eq!(message, "`step_timeout` `1h30m` is not a duration");

    let (message, line, _, _) = fails(&with(
        "systems:\n  crm: { http: \"http://x\", timeout: 10 s }\n",
    ));
    assert_eq!(message, "`timeout` `10 s` is not a duration");
    assert_eq!(line, 5);

    let (message, _, _, help) = fails(&with("limits: { step_timeout: 0s }\n"));
    assert_eq!(message, "`step_timeout` `0s` is out of range");
    assert_eq!(help, "a duration is at least `1s` and at most `365d`");
}

#[test]
fn concurrency_is_bounded() {
    for (value, column) in [("0", 24), ("1025", 24), ("-3", 24)] {
        let (message, line, at, help) =
            fails(&with(&format!("limits: {{ concurrency: {value} }}\n")));
        assert_eq!(
            message,
            format!("`concurrency` is {value}, outside 1 to 1024")
        );
        assert_eq!((line, at), (4, column));
        assert_eq!(help, "set `concurrency` to a whole number from 1 to 1024");
    }
    let (message, _, _, _) = fails(&with("limits: { concurrency: many }\n"));
    assert!(
        message.contains("expected a whole number from 1 to 1024"),
        "{message}"
    );
    let config = parse(&with("limits: { concurrency: 1024 }\n")).expect("loads");
    assert_eq!(config.limits.concurrency, 1024);
}

#[test]
fn bad_yaml_is_an_error_with_its_line() {
    let (message, line, _, help) = fails("state: s\npeople:\n  ana: [a\n");
    assert!(
        message.starts_with("did not find expected ',' or ']'"),
        "{message}"
    );
    assert_eq!(line, 4);
    assert_eq!(
        help,
        "this is not valid YAML: check indentation, colons, quotes and brackets"
    );
    let (message, line, _, _) = fails("state: *nowhere\npeople: {}\n");
    assert_eq!(message, "unknown anchor");
    assert_eq!(line, 1);
}

/// The classic "billion laughs": nine levels of ten aliases each, 10^9 strings if expanded.
/// serde_yaml replays an alias only as its value is read, and the config has nowhere for a
/// nested list to go, so the first level fails on its type before anything expands.
fn bomb(indent: &str) -> String {
    let roles: Vec<String> = (0..10).map(|i| format!("lol{i}")).collect();
    let mut bomb = format!("{indent}a0: &a0 [{}]\n", roles.join(", "));
    for level in 1..9 {
        let items = vec![format!("*a{}", level - 1); 10].join(", ");
        bomb.push_str(&format!("{indent}a{level}: &a{level} [{items}]\n"));
    }
    bomb
}

#[test]
fn an_alias_bomb_fails_without_expanding() {
    // At the top level: an unknown key, refused before its value is read.
    let (message, line, _, _) = fails(&bomb(""));
    assert_eq!(message, "unknown key `a0` in the config");
    assert_eq!(line, 1);

    // As people: `a0` is a person with ten roles; `a1`'s first role is a list.
    let (message, line, column, _) = fails(&format!("state: s\npeople:\n{}", bomb("  ")));
    assert_eq!(
        message,
        "in `people.a1[0]`: invalid type: sequence, expected a role name"
    );
    assert_eq!((line, column), (3, 7)); // where the replayed list was anchored
}

/// Linear expansion through aliases is bounded by the caps: one list of 64 roles shared by
/// many people is accepted, a 65th role is not.
#[test]
fn aliases_cannot_expand_past_the_caps() {
    let roles: Vec<String> = (0..64).map(|i| format!("r{i}")).collect();
    let mut text = format!("state: s\npeople:\n  p0: &r [{}]\n", roles.join(", "));
    for i in 1..2_000 {
        text.push_str(&format!("  p{i}: *r\n"));
    }
    let config = parse(&text).expect("loads");
    assert_eq!(config.people.len(), 2_000);
    assert_eq!(config.roles_of("p1999").map(<[String]>::len), Some(64));

    let (message, line, _, _) = fails(&format!(
        "state: s\npeople:\n  p0: [{}, r64]\n",
        roles.join(", ")
    ));
    assert_eq!(message, "more than 64 roles for `p0`");
    assert_eq!(line, 3);
}

#[test]
fn the_cli_rendering_shows_the_line_and_underlines_the_value() {
    let error = parse(&with("limits: { concurrency: 5000 }\n")).expect_err("out of range");
    let out = rendered(error);
    assert!(
        out.contains("× `concurrency` is 5000, outside 1 to 1024"),
        "{out}"
    );
    assert!(out.contains("[/srv/writ/writ.yaml:4:24]"), "{out}");
    assert!(out.contains("4 │ limits: { concurrency: 5000 }"), "{out}");
    assert!(out.contains("────"), "{out}");
    assert!(
        out.contains("help: set `concurrency` to a whole number from 1 to 1024"),
        "{out}"
    );
}

#[test]
fn spans_stay_on_character_boundaries() {
    // Multi-byte characters before the error, and a byte order mark.
    let error = parse("\u{feff}state: s\npeople:\n  ané: [a]\n").expect_err("bad name");
    assert_eq!(error.line(), Some(3));
    assert!(rendered(error).contains("person name `ané` is not a name"));
    let error = parse("state: s\npeople:\n  ana: [\"é\", \"ü\"]\n").expect_err("bad role");
    assert_eq!(error.to_string(), "role name `é` is not a name");
}

#[test]
fn token_reads_the_named_environment_variable() {
    // A variable this process surely has, whose name is a valid `token_env`.
    let Some((name, value)) = std::env::vars_os().find_map(|(k, v)| {
        let (k, v) = (k.into_string().ok()?, v.into_string().ok()?);
        let valid = k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        (valid && !v.is_empty()).then_some((k, v))
    }) else {
        panic!("the test process has no usable environment variable");
    };
    let text = with(&format!(
        "systems:\n  crm: {{ http: \"https://x\", token_env: {name} }}\n  \
         gone: {{ http: \"https://x\", token_env: WRIT_TEST_SURELY_UNSET_4F1C9 }}\n  \
         open: {{ http: \"https://x\" }}\n  db: {{ sqlite: a.db }}\n"
    ));
    let config = parse(&text).expect("loads");
    let credential = config
        .credential("crm")
        .expect("set")
        .expect("a credential");
    assert_eq!(credential.header, "Authorization");
    assert_eq!(credential.value, format!("Bearer {value}"));
    assert_eq!(config.credential("open").expect("no token"), None);
    assert_eq!(config.credential("db").expect("no token"), None);

    let error = config.credential("gone").expect_err("unset");
    assert_eq!(
        error.to_string(),
        "environment variable `WRIT_TEST_SURELY_UNSET_4F1C9` for the token of system `gone` is unset or empty"
    );
    assert_eq!(
        error.help_text(),
        "set `WRIT_TEST_SURELY_UNSET_4F1C9` to the token in the environment that runs writ"
    );
    let error = config.credential("nope").expect_err("unknown");
    assert_eq!(error.to_string(), "no system `nope` in the config");
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn on_arbitrary_text(text in "\\PC{0,200}") {
            let _ = parse(&text);
        }

        #[test]
        fn on_yaml_like_fragments(parts in prop::collection::vec(prop::sample::select(vec![
            "state", "people", "systems", "limits", "ana", "sqlite", "http", "exec", "token",
            "token_env", "timeout", "concurrency", "step_timeout", ": ", "\n", "  ", "- ", "[",
            "]", "{", "}", ", ", "&a ", "*a", "~", "30s", "\"http://x\"", "0", "é", "#", "'",
            "? ", "---\n", "!!str ", "|\n",
        ]), 0..60)) {
            let text: String = parts.concat();
            if let Err(error) = parse(&text) {
                let _ = rendered(error);
            }
        }
    }
}

#[test]
fn the_sandbox_keys_are_checked_with_their_line() {
    use writ::runtime::sandbox::{Grants, Network, SandboxConfig};
    let config = writ::runtime::config::parse(
        &with(
            "sandbox: { network: deny }\nsystems:\n  mail: { exec: out, write: [out, logs], network: allow }\n",
        ),
        Path::new("/srv/writ/writ.yaml"),
    )
    .unwrap();
    assert_eq!(
        config.sandbox,
        SandboxConfig::On {
            network: Network::Deny
        }
    );
    assert_eq!(
        config.systems["mail"],
        SystemConfig::Exec {
            workdir: Some(PathBuf::from("/srv/writ/out")),
            grants: Grants {
                write: vec![
                    PathBuf::from("/srv/writ/out"),
                    PathBuf::from("/srv/writ/logs")
                ],
                network: Network::Allow,
            },
        }
    );
    let off = writ::runtime::config::parse(&with("sandbox: off\n"), Path::new("w.yaml")).unwrap();
    assert_eq!(off.sandbox, SandboxConfig::Off);

    let (message, line, _, _) = fails(&with("sandbox: { network: maybe }\n"));
    assert_eq!(message, "`network` is `maybe`");
    assert_eq!(line, 4);
    let (message, _, _, _) = fails(&with("sandbox: { netwrk: deny }\n"));
    assert_eq!(message, "unknown key `netwrk` in `sandbox`");
    let (message, line, _, help) = fails(&with("systems:\n  db: { sqlite: h.db, write: [x] }\n"));
    assert_eq!(
        message,
        "`write` is only for `exec` systems, and `db` is not one"
    );
    assert_eq!(line, 5);
    assert_eq!(help, "remove `write` from system `db`");
}

#[test]
fn notify_lists_webhooks_with_a_closed_list_of_notices() {
    let config = parse(&with(
        "notify:\n  - url: \"http://127.0.0.1:9/hook\"\n    secret_env: HOOK_SECRET\n  \
         - url: \"http://h/x\"\n    events: [expired, expired, needs_repair]\n    \
         secret_env: OTHER\n",
    ))
    .unwrap();
    use writ::runtime::config::Notice;
    assert_eq!(config.notify.len(), 2);
    assert_eq!(
        config.notify[0].events,
        Notice::ALL.to_vec(),
        "all five by default"
    );
    assert_eq!(config.notify[0].secret_env, "HOOK_SECRET");
    assert_eq!(
        config.notify[1].events,
        vec![Notice::Expired, Notice::NeedsRepair]
    );

    let (message, line, _, help) = fails(&with(
        "notify:\n  - url: \"http://h/x\"\n    events: [approved]\n    secret_env: S\n",
    ));
    assert_eq!(message, "`approved` is not a notification writ sends");
    assert_eq!(line, 6);
    assert!(
        help.contains("confirmation_requested, escalated, expired"),
        "{help}"
    );

    let (message, _, _, help) = fails(&with(
        "notify:\n  - url: \"http://h/x\"\n    secret_env: \"whsec_abc=\"\n",
    ));
    assert!(
        message.contains("is not an environment variable name"),
        "{message}"
    );
    assert!(help.contains("never goes in the file"), "{help}");

    let (message, _, _, _) = fails(&with(
        "notify:\n  - url: \"ftp://h/x\"\n    secret_env: S\n",
    ));
    assert!(
        message.contains("is not an `http://` or `https://` URL"),
        "{message}"
    );
}
