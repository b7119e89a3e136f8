//! `POST /export/docx` and `POST /export/markdown`: the plan the page sends (a form field
//! `plan` holding JSON) back as a download named after the enterprise and the date.

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Form,
};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde::Deserialize;

use crate::{
    export::{docx, markdown, ExportFormat, PlanDocument},
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

/// The export forms the generator page posts: Word and Markdown downloads.
pub fn router() -> axum::Router<AppState> {
    use axum::{extract::DefaultBodyLimit, routing::post};
    let limit = || DefaultBodyLimit::max(super::MAX_FORM_BYTES);
    axum::Router::new()
        .route("/export/docx", post(docx).layer(limit()))
        .route("/export/markdown", post(markdown).layer(limit()))
}

pub async fn docx(State(state): State<AppState>, Form(form): Form<ExportForm>) -> Response {
    export(&state, &form, ExportFormat::Docx)
}

pub async fn markdown(State(state): State<AppState>, Form(form): Form<ExportForm>) -> Response {
    export(&state, &form, ExportFormat::Markdown)
}

fn export(state: &AppState, form: &ExportForm, format: ExportFormat) -> Response {
    let plan = match read(form, state.generation.registry()) {
        Ok(plan) => plan,
        Err(response) => return *response,
    };
    render(&plan, format).unwrap_or_else(|e| {
        tracing::error!("{e}");
        problem(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
    })
}

/// A saved plan as a download, with the self-check appendix when `self_check`.
pub fn download_plan(
    plan: &crate::model::Plan,
    registry: &Registry,
    self_check: bool,
    format: ExportFormat,
) -> Result<Response, String> {
    let mut document = PlanDocument::from_plan(plan, registry).map_err(|e| e.to_string())?;
    document.date = crate::clock::date(crate::clock::now());
    if !self_check {
        document.self_check.clear();
        document.findings.clear();
    }
    render(&document, format).map_err(|e| e.to_string())
}

fn render(
    plan: &PlanDocument,
    format: ExportFormat,
) -> Result<Response, crate::export::ExportError> {
    Ok(match format {
        ExportFormat::Docx => download(&plan.file_name("docx"), DOCX_TYPE, docx::render(plan)?),
        ExportFormat::Markdown => download(
            &plan.file_name("md"),
            "text/markdown; charset=utf-8",
            markdown::render(plan).into_bytes(),
        ),
    })
}

fn read(form: &ExportForm, registry: &Registry) -> Result<PlanDocument, Box<Response>> {
    let mut plan = PlanDocument::from_json(&form.plan, registry).map_err(|e| {
        if let crate::export::ExportError::Malformed(detail) = &e {
            tracing::warn!("导出请求无法解析: {detail}");
        }
        Box::new(problem(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()))
    })?;
    if plan.date.trim().is_empty() {
        plan.date = crate::clock::date(crate::clock::now());
    }
    if form.self_check.is_none() {
        plan.self_check.clear();
        plan.findings.clear();
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
