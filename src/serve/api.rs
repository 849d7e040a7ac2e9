//! The HTTP API (`docs/api.yaml`, OpenAPI 3.1): JSON in and out. Acting requests carry a
//! signed statement (`statement`: its exact bytes, `signature`: the armored SSHSIG), verified by
//! the operations layer exactly as the local command verifies it; a refusal answers with the
//! status its kind has (401 unsigned, 403 signed by someone it does not hold for, 404 no such
//! run, 409 refused) and the text the local command prints (`error`) with its exit code
//! (`exit`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Service;
use crate::cli::report::{self, Format};
use crate::diagnostics::RenderOptions;
use crate::ops::{self, Failure, OpsError, Signed};
use crate::runtime::decide::Verdict;
use crate::runtime::run::{RunState, Status};
use crate::runtime::store::Store;
use crate::runtime::trust::Create;

/// The longest a client may wait for new events in one request.
const MAX_WAIT: Duration = Duration::from_secs(60);

pub fn router(service: Arc<Service>) -> Router {
    Router::new()
        .route("/v1/store", get(store))
        .route("/v1/runs", get(list).post(start))
        .route("/v1/runs/{run}", get(status))
        .route("/v1/runs/{run}/events", get(events))
        .route("/v1/runs/{run}/resume", post(resume))
        .route("/v1/decisions", post(decide))
        .route("/v1/rollbacks", post(rollback))
        .route("/v1/drafts/decision", post(draft))
        .route("/v1/inbox/{person}", get(inbox))
        .route("/v1/report", get(quality_report))
        .with_state(service)
}

type Shared = State<Arc<Service>>;

fn failure(error: &OpsError) -> Response {
    let plain = RenderOptions {
        color: false,
        width: 100,
    };
    let code = StatusCode::from_u16(error.failure.http_status())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({ "error": error.render(plain), "exit": error.failure.exit_code() });
    (code, axum::Json(body)).into_response()
}

fn answer(result: Result<Value, OpsError>, ok: StatusCode) -> Response {
    match result {
        Ok(body) => (ok, axum::Json(body)).into_response(),
        Err(error) => failure(&error),
    }
}

/// Runs a verb on a blocking thread (verbs drive runs with blocking connectors).
async fn blocking<T: Send + 'static>(
    verb: impl FnOnce() -> Result<T, OpsError> + Send + 'static,
) -> Result<T, OpsError> {
    tokio::task::spawn_blocking(verb)
        .await
        .unwrap_or_else(|e| Err(OpsError::error(Failure::Internal, e)))
}

/// Where a run stands, in both of the command line's forms: a client prints `text` or
/// `report` (what `--format json` prints) and exits with `exit`.
fn run_body(state: &RunState, status: Status) -> Value {
    json!({
        "run": state.id,
        "status": status.as_str(),
        "exit": match status {
            Status::Done => 0,
            Status::Waiting | Status::Drafted => 3,
            _ => 1,
        },
        "report": report::report(state, status),
        "text": report::rendered(state, status, Format::Text),
        "json": report::rendered(state, status, Format::Json),
    })
}

/// The body of an acting request.
#[derive(Deserialize)]
struct ActBody {
    statement: Option<String>,
    signature: Option<String>,
    /// A bare name: taken only by an `identity: asserted` store.
    #[serde(rename = "as")]
    person: Option<String>,
}

impl ActBody {
    /// The act as submitted, and its statement parsed. Unsigned: 401 with the text the local
    /// command gives a person who did not sign.
    fn signed(self, service: &Service) -> Result<(Signed, Value), OpsError> {
        match (self.statement, self.signature, self.person) {
            (Some(statement), Some(signature), _) => {
                let parsed =
                    crate::runtime::trust::statement::parse(&statement).map_err(OpsError::trust)?;
                Ok((Signed::statement(statement, signature)?, parsed))
            }
            (None, None, Some(person)) => Ok((Signed::asserted(person), Value::Null)),
            _ => {
                let (_, pinned) = ops::trusted(&service.config, Create::Never)?;
                Err(OpsError::trust(ops::needs_key(&pinned)))
            }
        }
    }
}

fn field<'a>(statement: &'a Value, name: &str) -> Result<&'a str, OpsError> {
    statement.get(name).and_then(Value::as_str).ok_or_else(|| {
        OpsError::error(
            Failure::Usage,
            format!("the statement has no `{name}`: sign what `--statement` prints"),
        )
    })
}

async fn store(State(service): Shared) -> Response {
    let result = blocking(move || {
        let (_, pinned) = ops::trusted(&service.config, Create::Never)?;
        Ok(json!({
            "store": pinned.store,
            "identity": pinned.registry.identity,
        }))
    })
    .await;
    answer(result, StatusCode::OK)
}

async fn list(State(service): Shared) -> Response {
    let result = blocking(move || Ok(json!({ "runs": ops::status::list(&service.config)? }))).await;
    answer(result, StatusCode::OK)
}

async fn status(State(service): Shared, Path(run): Path<String>) -> Response {
    let result = blocking(move || {
        let (state, status) = ops::status::one(&service.config, &run)?;
        Ok(run_body(&state, status))
    })
    .await;
    answer(result, StatusCode::OK)
}

/// What `GET /v1/report` takes: `writ report`'s options.
#[derive(Deserialize)]
struct ReportQuery {
    since: Option<String>,
    workflow: Option<String>,
    format: Option<String>,
}

/// `writ report` served: the same bytes, as HTML (the default: a page a manager opens in a
/// browser), JSON or text.
async fn quality_report(State(service): Shared, Query(query): Query<ReportQuery>) -> Response {
    use crate::cli::quality::{self, Format as ReportFormat};
    let (format, kind) = match query.format.as_deref().unwrap_or("html") {
        "html" => (ReportFormat::Html, "text/html; charset=utf-8"),
        "json" => (ReportFormat::Json, "application/json"),
        "text" => (ReportFormat::Text, "text/plain; charset=utf-8"),
        other => {
            let error = format!("no report format `{other}`: html, json or text");
            return failure(&OpsError::error(Failure::Usage, error));
        }
    };
    let result = blocking(move || {
        let since = match &query.since {
            Some(text) => {
                Some(quality::seconds(text).map_err(|e| OpsError::error(Failure::Usage, e))?)
            }
            None => None,
        };
        let (store, _) = ops::trusted(&service.config, Create::Never)?;
        quality::rendered(&store, since, query.workflow.as_deref(), format, false)
            .map_err(|e| OpsError::error(Failure::Usage, e))
    })
    .await;
    match result {
        Ok(page) => (
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, kind)],
            page,
        )
            .into_response(),
        Err(error) => failure(&error),
    }
}

async fn inbox(State(service): Shared, Path(person): Path<String>) -> Response {
    let result = blocking(move || {
        let items = ops::inbox::inbox(&service.config, &person)?;
        Ok(json!({ "person": person, "waiting": items }))
    })
    .await;
    answer(result, StatusCode::OK)
}

async fn start(State(service): Shared, axum::Json(body): axum::Json<ActBody>) -> Response {
    let result = blocking(move || {
        let (signed, statement) = body.signed(&service)?;
        let fingerprint = field(&statement, "fingerprint")?;
        let (store, _) = ops::trusted(&service.config, Create::Never)?;
        let (plan, file) = ops::approved_plan(&store, fingerprint)?;
        drop(store);
        let empty = Value::Object(serde_json::Map::new());
        let inputs = ops::start::inputs_of(&plan, statement.get("inputs").unwrap_or(&empty))?;
        let request = ops::start::Request {
            source: ops::start::Source::File {
                plan: Box::new(plan),
                file,
            },
            inputs,
            context: statement
                .get("context")
                .and_then(Value::as_str)
                .map(str::to_owned),
            signed,
        };
        let state = ops::start::start(service.config.clone(), request, None)?;
        Ok(run_body(&state, state.status()))
    })
    .await;
    answer(result, StatusCode::CREATED)
}

async fn decide(State(service): Shared, axum::Json(body): axum::Json<ActBody>) -> Response {
    let decided = service.clone();
    let result = blocking(move || {
        let (signed, statement) = body.signed(&decided)?;
        let verdict = verdict(field(&statement, "decision")?)?;
        let request = ops::decide::Request {
            run: field(&statement, "run")?.to_owned(),
            step: field(&statement, "step")?.to_owned(),
            verdict,
            note: statement
                .get("note")
                .and_then(Value::as_str)
                .map(str::to_owned),
            signed,
        };
        let state = ops::decide::decide(decided.config.clone(), request, None)?;
        Ok(state)
    })
    .await;
    match result {
        Ok(state) => {
            let body = run_body(&state, state.status());
            // The run goes on as soon as the decision it waited for is recorded.
            if state.status() == Status::Ready {
                let run = state.id.clone();
                tokio::task::spawn_blocking(move || {
                    if service.claim(&run) {
                        let _ = ops::resume::resume(service.config.clone(), &run, None);
                        service.release(&run);
                    }
                });
            }
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Err(error) => failure(&error),
    }
}

/// A signed `rollback` statement: the run's writes reversed, newest first.
async fn rollback(State(service): Shared, axum::Json(body): axum::Json<ActBody>) -> Response {
    let result = blocking(move || {
        let (signed, statement) = body.signed(&service)?;
        let request = ops::rollback::Request {
            run: field(&statement, "run")?.to_owned(),
            reason: statement
                .get("reason")
                .and_then(Value::as_str)
                .map(str::to_owned),
            force: statement
                .get("force")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            signed,
        };
        let state = ops::rollback::rollback(service.config.clone(), request, None)?;
        Ok(run_body(&state, state.status()))
    })
    .await;
    answer(result, StatusCode::OK)
}

async fn resume(State(service): Shared, Path(run): Path<String>) -> Response {
    let result = blocking(move || {
        // The service drives its runs itself; a resume asked for waits its turn.
        let state = ops::resume::resume(service.config.clone(), &run, None)?;
        Ok(run_body(&state, state.status()))
    })
    .await;
    answer(result, StatusCode::OK)
}

/// What a decision is asked about, for the fields of its statement.
#[derive(Deserialize)]
struct DraftBody {
    run: String,
    step: String,
    decision: String,
    note: Option<String>,
}

/// The fields of the `decide` statement the service would take for this decision now (the
/// client signs them with `store`, `person` and `at`).
async fn draft(State(service): Shared, axum::Json(body): axum::Json<DraftBody>) -> Response {
    let result = blocking(move || {
        let verdict = verdict(&body.decision)?;
        let (fields, _) = ops::decide::draft(
            &service.config,
            &body.run,
            &body.step,
            verdict,
            body.note.as_deref(),
        )?;
        Ok(json!({ "fields": fields }))
    })
    .await;
    answer(result, StatusCode::OK)
}

fn verdict(decision: &str) -> Result<Verdict, OpsError> {
    match decision {
        "confirm" => Ok(Verdict::Confirm),
        "reject" => Ok(Verdict::Reject),
        other => Err(OpsError::error(
            Failure::Usage,
            format!("`{other}` is not a decision (`confirm` or `reject`)"),
        )),
    }
}

#[derive(Deserialize)]
struct Since {
    /// Only events after this store position.
    after: Option<u64>,
    /// Seconds to wait for one (long poll), at most 60.
    wait: Option<u64>,
}

async fn events(
    State(service): Shared,
    Path(run): Path<String>,
    Query(since): Query<Since>,
) -> Response {
    let after = since.after.unwrap_or(0);
    let until = Instant::now() + Duration::from_secs(since.wait.unwrap_or(0)).min(MAX_WAIT);
    loop {
        let read = service.clone();
        let wanted = run.clone();
        let result = blocking(move || {
            let (store, _) = ops::trusted(&read.config, Create::Never)?;
            ops::replayed(&store, &wanted)?;
            let events = store
                .run_events(&wanted)
                .map_err(|e| OpsError::error(Failure::Usage, e))?;
            Ok(events
                .into_iter()
                .filter(|e| e.seq > after)
                .collect::<Vec<_>>())
        })
        .await;
        match result {
            Ok(events) if !events.is_empty() || Instant::now() >= until => {
                let last = events.last().map_or(after, |e| e.seq);
                let body = json!({ "run": run, "events": events, "last": last });
                return (StatusCode::OK, axum::Json(body)).into_response();
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            Err(error) => return failure(&error),
        }
    }
}
