//! Operations routes: tiering status and runs (`zegel tier status|run`) and usage metering
//! (`zegel usage`). The server's admin key sees every tenant; a tenant's admin, archivist or
//! auditor sees only its own, and another tenant is a plain 404.

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::auth::{Caller, Role};
use crate::api::docs::ProblemDoc;
use crate::api::dto::tier::{ArchiveTier, PassReport, UsageDay, UsageFigures};
use crate::api::problem::Problem;
use crate::api::{ApiResult, AppState};
use crate::error::Error;
use crate::limits::USAGE_DAYS_MAX;
use crate::usage::{self, day_of};

/// `?tenant=`: which tenant (the server's admin key only; others see their own).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TenantQuery {
    /// Only this tenant.
    pub tenant: Option<String>,
}

/// The tenant a request may look at: `None` is every tenant (server admin only).
fn scope(c: &Caller, asked: Option<&str>) -> ApiResult<Option<String>> {
    if c.is_server_admin() {
        return Ok(asked.map(str::to_string));
    }
    c.require_any(&[Role::Archivist, Role::Auditor])?;
    match asked {
        Some(t) if t != c.api_key.tenant => Err(Problem::not_found(format!("no tenant {t:?}"))),
        _ => Ok(Some(c.api_key.tenant.clone())),
    }
}

/// Tiering state of every archive in scope.
#[derive(Debug, Serialize, ToSchema)]
pub struct TierStatus {
    pub hot_days: u64,
    pub archives: Vec<ArchiveTier>,
}

/// Counts and bytes hot, cold and in flight, per archive, with the last failure if any.
#[utoipa::path(get, path = "/v1/tier", tag = "operations", security(("bearer" = [])),
    params(TenantQuery),
    responses(
        (status = 200, description = "tiering per archive", body = TierStatus),
        (status = 403, description = "not an admin, archivist or auditor", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn tier_status(
    State(s): State<AppState>,
    c: Caller,
    Query(q): Query<TenantQuery>,
) -> ApiResult<Response> {
    let tenant = scope(&c, q.tenant.as_deref())?;
    let archives = s.tier.status(tenant.as_deref(), |a| c.may_use(a).is_ok())?;
    let archives = archives.into_iter().map(ArchiveTier::from).collect();
    Ok(Json(TierStatus {
        hot_days: s.tier.config().hot_days,
        archives,
    })
    .into_response())
}

/// Runs tiering now, until nothing more is due (the server's admin key only).
#[utoipa::path(post, path = "/v1/tier/run", tag = "operations", security(("bearer" = [])),
    responses(
        (status = 200, description = "the moves made and the failures met; a failed move keeps its hot copy", body = PassReport),
        (status = 403, description = "not the server's admin key", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn tier_run(State(s): State<AppState>, c: Caller) -> ApiResult<Response> {
    if !c.is_server_admin() {
        return Err(Problem::forbidden(
            "only the server's admin key may run tiering",
        ));
    }
    // The pass runs as its own task: a client that stops waiting does not stop it.
    let tier = s.tier.clone();
    let report = tokio::spawn(async move { tier.pass(None).await })
        .await
        .map_err(|e| Error::internal(format!("tiering pass: {e}")))?;
    Ok(Json(PassReport::from(report)).into_response())
}

/// `GET /v1/usage` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// Only this tenant (the server's admin key may ask for any).
    pub tenant: Option<String>,
    /// First day of the history, `YYYY-MM-DD` (default: 30 days ago).
    pub from: Option<String>,
    /// Last day of the history, `YYYY-MM-DD` (default: today).
    pub to: Option<String>,
}

/// Usage now and per day.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageReport {
    /// Per tenant, as of this request.
    pub now: Vec<UsageFigures>,
    /// Per tenant and day, the day's last snapshot (today's is the figures of now).
    pub history: Vec<UsageDay>,
}

fn parse_day(name: &str, v: &str) -> ApiResult<String> {
    let ok = v.len() == 10
        && time::Date::parse(
            v,
            &time::macros::format_description!("[year]-[month]-[day]"),
        )
        .is_ok();
    if ok {
        Ok(v.to_string())
    } else {
        Err(Problem::bad_request(format!(
            "{name} must be a day as YYYY-MM-DD, not {v:?}"
        )))
    }
}

/// Packages, raw bytes, bytes stored hot and cold, and requests per tenant: now and per day.
#[utoipa::path(get, path = "/v1/usage", tag = "operations", security(("bearer" = [])),
    params(UsageQuery),
    responses(
        (status = 200, description = "usage now and per day", body = UsageReport),
        (status = 400, description = "a bad day", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "another tenant", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn usage(
    State(s): State<AppState>,
    c: Caller,
    Query(q): Query<UsageQuery>,
) -> ApiResult<Response> {
    let tenant = scope(&c, q.tenant.as_deref())?;
    if c.api_key.archives.is_some() {
        return Err(Problem::forbidden(
            "usage covers the whole tenant; this key is limited to some archives",
        ));
    }
    let now_ms = s.clock.now_ms();
    let today = day_of(now_ms);
    let to = match &q.to {
        Some(v) => parse_day("to", v)?,
        None => today.clone(),
    };
    let from = match &q.from {
        Some(v) => parse_day("from", v)?,
        None => day_of(now_ms.saturating_sub(30 * 86_400_000)),
    };
    if from > to {
        return Err(Problem::bad_request("from is after to"));
    }
    let now = s.usage.now(&s.archives, tenant.as_deref())?;
    let mut history = Vec::new();
    for f in &now {
        let mut days = s.usage.history(&s.archives, &f.tenant, &from, &to)?;
        days.retain(|d| d.day != today);
        days.truncate(USAGE_DAYS_MAX - 1);
        if from <= today && today <= to {
            days.push(usage::UsageDay {
                day: today.clone(),
                at_ms: now_ms,
                figures: f.clone(),
            });
        }
        history.extend(days.into_iter().map(UsageDay::from));
    }
    let now = now.into_iter().map(UsageFigures::from).collect();
    Ok(Json(UsageReport { now, history }).into_response())
}
