//! `POST /export/docx` and `POST /export/markdown`: the plan the page sends (a form field
//! `plan` holding JSON) back as a download named after the enterprise and the date.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Form,
};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde::Deserialize;

use crate::{
    export::{docx, markdown, PlanDocument},
    state::AppState,
    templates::Registry,
};

#[derive(Deserialize)]
pub struct ExportForm {
    plan: String,
    /// A checked box: the self-check table goes in as an appendix.
    #[serde(default)]
    self_check: Option<String>,
}

const DOCX_TYPE: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

pub async fn docx(State(state): State<AppState>, Form(form): Form<ExportForm>) -> Response {
    let plan = match read(&form, state.generation.registry()) {
        Ok(plan) => plan,
        Err(response) => return *response,
    };
    match docx::render(&plan) {
        Ok(bytes) => download(&plan.file_name("docx"), DOCX_TYPE, bytes),
        Err(e) => {
            tracing::error!("{e}");
            problem(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
        }
    }
}

pub async fn markdown(State(state): State<AppState>, Form(form): Form<ExportForm>) -> Response {
    match read(&form, state.generation.registry()) {
        Ok(plan) => download(
            &plan.file_name("md"),
            "text/markdown; charset=utf-8",
            markdown::render(&plan).into_bytes(),
        ),
        Err(response) => *response,
    }
}

fn read(form: &ExportForm, registry: &Registry) -> Result<PlanDocument, Box<Response>> {
    let mut plan = PlanDocument::from_json(&form.plan, registry).map_err(|e| {
        if let crate::export::ExportError::Malformed(detail) = &e {
            tracing::warn!("导出请求无法解析: {detail}");
        }
        Box::new(problem(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()))
    })?;
    if plan.date.trim().is_empty() {
        plan.date = china_date(SystemTime::now());
    }
    if form.self_check.is_none() {
        plan.self_check.clear();
    }
    Ok(plan)
}

/// An attachment whose Chinese name survives every browser: an ASCII fallback plus the RFC 5987
/// UTF-8 form.
fn download(name: &str, content_type: &str, body: Vec<u8>) -> Response {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{}",
        utf8_percent_encode(name, NON_ALPHANUMERIC)
    );
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

/// A plain page for a plan that cannot be exported; the writer's text is still in the browser.
fn problem(status: StatusCode, message: &str) -> Response {
    let escaped = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!(
            "<!doctype html><meta charset=\"utf-8\"><title>导出失败</title>\
             <p>导出失败：{escaped}</p><p>您编辑的内容仍保存在浏览器中，<a href=\"/\">返回</a>后可重试。</p>"
        ),
    )
        .into_response()
}

/// Today's date in China (UTC+8), `YYYY-MM-DD`.
fn china_date(now: SystemTime) -> String {
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        + 8 * 3600;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 to a Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn dates_in_china_time() {
        assert_eq!(china_date(UNIX_EPOCH), "1970-01-01");
        // 2026-11-25 16:30 UTC is already the 26th in Beijing.
        let t = UNIX_EPOCH + Duration::from_secs(1_795_624_200);
        assert_eq!(china_date(t), "2026-11-26");
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
